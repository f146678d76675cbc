"""Scorers registered by name: the refusal detector (refusal/), toxicity (detoxify),
diversity, and judge-backed scorers. `judges.scorers.factory.create_scorer` builds one."""
