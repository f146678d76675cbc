"""Process supervision: splitting solutions into steps, the PRM step judge, the outcome
judge, process metrics and best-of-N reranking."""
