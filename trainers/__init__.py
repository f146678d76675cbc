"""Trainers on top of TRL: SFT, reward model, DPO (with robust KLDPO/WDPO variants), PPO and
Constitutional AI. Each writes a transformers checkpoint plus `manifest.json` that `harness
run --model DIR` evaluates directly. Methods register under kind "trainer";
`harness train METHOD` runs one (trainers/run.py).

TRL is pinned to 1.12.0, the last release with PPO (removed in 1.13), so that every method
here runs on one TRL.
"""
