"""LLM-as-judge: backends (endpoint or local model), templates, reply parsing, the judge
with its cache and budget, and pairwise (with position swap), pointwise and classify judging."""
