"""Auditing a judge on human-labelled pairs: agreement, position, length, format and
self-preference biases, variance and cost."""
