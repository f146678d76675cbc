"""One LoRA adapter per user (`harness train dpo --lora --personas FILE --judgments SOURCE`):
each persona's own preferences (trainers/persona_pairs.py) train DPO from the same base, and
each adapter is kept unmerged in OUT/PERSONA, so that `harness run|compare --adapter
NAME=OUT/PERSONA` loads it on its base. OUT/adapters.json lists them. A re-run keeps every
adapter already trained with the same settings, so a killed run resumes at the next one."""

from __future__ import annotations

import json
from typing import Any

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.paths import check_out_dir
from harness.jobs.kept_training import train_or_keep
from judges.personas.personas import load_personas
from trainers.common import Log
from trainers.config import DPOTrainConfig
from trainers.data import write_pairs
from trainers.persona_pairs import load_persona_pairs

FEWEST_PAIRS = 2
"""A persona needs at least this many preferences to train on."""


def train_persona_adapters(
    config: DPOTrainConfig, personas: str, judgments: str, log: Log = lambda _: None
) -> dict[str, Any]:
    """Train one adapter per persona of `personas` into `config.out`/NAME; returns (and
    writes) adapters.json. `config` gives every setting but the data and the output."""
    if not config.lora:
        raise UserError("--personas trains one LoRA adapter per persona: add --lora")
    if config.evaluation is not None:
        raise UserError(
            "--eval-every does not combine with --personas; evaluate the adapters with "
            "`harness compare --adapter NAME=DIR ... --personas FILE`"
        )
    names = [p.name for p in load_personas(personas)]
    found = load_persona_pairs(judgments)
    short = [n for n in names if len(found.pairs.get(n, [])) < FEWEST_PAIRS]
    if short:
        have = ", ".join(f"{n}: {len(found.pairs.get(n, []))}" for n in short)
        raise UserError(
            f"--judgments {judgments}: too few preferences for persona(s) {have} "
            f"(at least {FEWEST_PAIRS} each)"
        )
    out = config.out
    check_out_dir(out)
    adapters: dict[str, Any] = {}
    for name in names:
        data = out / "preferences" / f"{name}.jsonl"
        data.parent.mkdir(parents=True, exist_ok=True)
        write_pairs(data, found.pairs[name], prefix=f"{name}-")
        wanted = config.model_copy(
            update={"data": str(data), "out": out / name, "lora_merge": False}
        )
        train_or_keep(
            wanted, name, log, f"{config.max_steps} steps on {len(found.pairs[name])} pairs"
        )
        manifest = json.loads((out / name / "manifest.json").read_text(encoding="utf-8"))
        adapters[name] = {
            "adapter": str(out / name),
            "pairs": len(found.pairs[name]),
            "undecided": found.undecided.get(name, 0),
            "steps": manifest["steps"],
            "wall_seconds": manifest["wall_seconds"],
        }
    payload = {"base_model": config.model, "personas": personas, "judgments": judgments,
               "adapters": adapters}  # fmt: skip
    write_text_atomic(out / "adapters.json", json.dumps(payload, indent=2) + "\n")
    return payload


def adapter_flags(payload: dict[str, Any]) -> list[str]:
    """The `--adapter NAME=PATH` flags that evaluate the adapters of adapters.json."""
    return [f"--adapter {name}={a['adapter']}" for name, a in payload["adapters"].items()]
