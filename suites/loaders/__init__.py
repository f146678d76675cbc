"""Loaders for real benchmarks, registered as `LOADER:SOURCE` suite specs: XSTest,
HH-RLHF, AlpacaEval and GSM8K."""
