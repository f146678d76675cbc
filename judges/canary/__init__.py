"""Canaries: a small pinned set of pairs whose verdicts catch a judge that changed."""
