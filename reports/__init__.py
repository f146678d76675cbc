"""Reports rendered from a run's files (summary.json + items.jsonl); model text is always escaped."""
