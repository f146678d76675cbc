"""The jobs: run, compare, judge, score, audit, process, reproduce, serve, pipeline,
dpo-shift and winrate. Each takes a typed config and returns its result; the CLI and the
Python API (`harness.evaluate`, `harness.compare`, `harness.audit_judge`) call them."""
