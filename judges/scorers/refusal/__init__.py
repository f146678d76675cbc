"""The refusal detector: XSTest's full compliance / full refusal / partial refusal, from
keyword rules (rules.py), a trained head on sentence embeddings (classifier.py) and the
default detector that combines them (detector.py)."""
