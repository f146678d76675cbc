"""Trainers (SFT, reward model, DPO, PPO, Constitutional AI) on top of TRL.

Not built yet: tracked by the trainers issue. Nothing in the harness imports this package.
"""
