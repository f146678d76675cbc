"""Training a checkpoint once for an experiment: a re-run keeps a checkpoint whose manifest
records the same settings, and refuses one trained with other settings (so an experiment's
report never mixes checkpoints from two configurations)."""

from __future__ import annotations

import json

from harness.core.errors import UserError
from trainers.common import Log
from trainers.config import TrainConfig


def train_or_keep(wanted: TrainConfig, name: str, log: Log, what: str = "") -> None:
    """Train `wanted` into `wanted.out`, unless an earlier run already did (`what` describes
    the training in the log line)."""
    from trainers.run import train

    manifest = wanted.out / "manifest.json"
    if manifest.is_file():
        kept = json.loads(manifest.read_text(encoding="utf-8"))["config"]
        asked = json.loads(wanted.model_dump_json())
        # A setting added since the checkpoint was trained counts as its default.
        defaults = {k: f.default for k, f in type(wanted).model_fields.items()}
        if kept != {k: v for k, v in asked.items() if k in kept or v != defaults.get(k)}:
            raise UserError(
                f"{wanted.out} was trained with other settings; use a new --out for these settings"
            )
        log(f"{name}: kept from an earlier run ({wanted.out})")
        return
    log(f"{name}: training ({what or f'{wanted.max_steps} steps'})")
    train(wanted)
