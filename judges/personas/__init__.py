"""Personalised judging: user profiles (personas.yaml) a `{persona}` template judges for,
and how much verdicts move between them."""
