"""Judge panels: several judges decide each pair together, and how far they agree."""
