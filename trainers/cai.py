"""Constitutional AI (Bai et al., 2022) on top of the harness engine, judges and TRL.

    harness train cai --data harmful-smoke --max-steps 20 --out runs/cai

Stage 1, SL-CAI: the base model answers red-team prompts; for each answer it is asked to
critique it against a principle sampled from the constitution, then to revise it; SFT on
(prompt, final revision) gives the SL-CAI checkpoint (`OUT/sl-cai`).
Stage 2, RL-CAI: the SL-CAI model samples two answers per prompt; a feedback model (by
default the SL-CAI model itself, as in the paper; any judge spec works) picks the one that
better follows a sampled principle, in both orders; DPO on those AI preferences (or a
reward model plus PPO, `rl: ppo`) gives the final checkpoint, written to `OUT` itself.
Every intermediate is kept: `sl-cai-data.jsonl` (answers, critiques, revisions),
`rl-cai-preferences.jsonl` (both samples, the principle, the verdicts).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.records import GenerationParams, Message, Role
from harness.core.validation import load_yaml_model
from trainers.common import Log, checkpoint_dir
from trainers.config import (
    CAITrainConfig,
    DPOTrainConfig,
    PPOTrainConfig,
    RewardTrainConfig,
    SFTTrainConfig,
)
from trainers.data import load_prompts
from trainers.eval_callback import CheckpointEvaluation
from trainers.method import TrainResult
from trainers.methods import train_method as train


class Principle(BaseModel):
    """One constitution principle."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    critique: str = Field(min_length=1)
    """Critique request, asked after the model's answer (SL-CAI)."""
    revision: str = Field(min_length=1)
    """Revision request, asked after the critique (SL-CAI)."""
    comparison: str = Field(min_length=1)
    """The question the feedback model answers about two responses (RL-CAI)."""


class Constitution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "constitution"
    version: int = 1
    principles: list[Principle] = Field(min_length=1)


def load_constitution(path: Path | None) -> Constitution:
    """The YAML constitution at `path`, or the project's default."""
    return load_yaml_model(
        path or Path(str(resources.files("trainers") / "constitution.yaml")), Constitution
    )


class _Writer:
    """The model that writes answers, critiques and revisions, loaded once."""

    def __init__(self, model: str) -> None:
        from harness.engines.base import EngineConfig
        from harness.engines.factory import create_engine

        self.engine = create_engine("transformers", EngineConfig(model=model))

    def __call__(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[list[str]]:
        return [[c.text for c in outs] for outs in self.engine.generate(chats, params)]


def _turn(role: Role, content: str) -> Message:
    return Message(role=role, content=content)


@dataclass(frozen=True)
class CAIData:
    """What both CAI data stages read: the prompts, the constitution, the settings and the
    generator that draws principles (seeded, so the data reproduce)."""

    prompts: list[list[Message]]
    constitution: Constitution
    config: CAITrainConfig
    rng: random.Random


def critique_and_revise(model: str, data: CAIData) -> list[dict[str, Any]]:
    """SL-CAI data: each prompt's first answer, then critique/revision rounds."""
    prompts, constitution, config, rng = data.prompts, data.constitution, data.config, data.rng
    params = GenerationParams(max_new_tokens=config.max_new_tokens, seed=config.seed)
    write = _Writer(model)
    answers = [outs[0] for outs in write(prompts, params)]
    records: list[dict[str, Any]] = [
        {"prompt": [m.model_dump() for m in p], "initial": a, "rounds": []}
        for p, a in zip(prompts, answers, strict=True)
    ]
    current = answers
    for _ in range(config.revisions):
        principles = [rng.choice(constitution.principles) for _ in prompts]
        asked = [
            [*p, _turn("assistant", a), _turn("user", pr.critique)]
            for p, a, pr in zip(prompts, current, principles, strict=True)
        ]
        critiques = [outs[0] for outs in write(asked, params)]
        revise = [
            [*chat, _turn("assistant", c), _turn("user", pr.revision)]
            for chat, c, pr in zip(asked, critiques, principles, strict=True)
        ]
        current = [outs[0] for outs in write(revise, params)]
        for rec, pr, c, r in zip(records, principles, critiques, current, strict=True):
            rec["rounds"].append({"principle": pr.name, "critique": c, "revision": r})
    for rec, final in zip(records, current, strict=True):
        rec["revision"] = final
    return records


def ai_preferences(model: str, data: CAIData) -> list[dict[str, Any]]:
    """RL-CAI data: two samples per prompt, judged in both orders against a principle."""
    prompts, constitution, config, rng = data.prompts, data.constitution, data.config, data.rng
    from harness.core.paths import default_store_path
    from harness.core.store import ResultsStore
    from judges.llm.client import Endpoint
    from judges.llm.judge import build_judge
    from judges.llm.pairwise import judge_pairwise
    from judges.llm.template import load_template
    from judges.llm.verdicts import PairItem

    params = GenerationParams(
        temperature=config.sample_temperature,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed,
        n=2,
    )
    samples = _Writer(model)(prompts, params)
    spec = config.judge or f"local:{model}"
    principles = [rng.choice(constitution.principles) for _ in prompts]
    items = [
        PairItem(
            id=f"p{i}",
            prompt=_conversation(p),
            response_a=s[0],
            response_b=s[1],
            principle=pr.comparison,
        )
        for i, (p, s, pr) in enumerate(zip(prompts, samples, principles, strict=True))
    ]
    template = load_template("constitution-pairwise-v1")
    with ResultsStore(default_store_path()) as store:
        judge = build_judge(
            spec, template, store, Endpoint(config.judge_base_url, config.judge_client)
        )
        results = judge_pairwise(judge, items)
    rows = []
    for p, item, pr, res in zip(prompts, items, principles, results, strict=True):
        rows.append(
            {
                "prompt": [m.model_dump() for m in p],
                "response_a": item.response_a,
                "response_b": item.response_b,
                "principle": pr.name,
                "preference": res.preference,
                "verdict": res.verdict,
                "consistent": res.consistent,
                "status": res.status,
                "judge": spec,
            }
        )
    return rows


def _conversation(chat: Sequence[Message]) -> str:
    return "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in chat)


def preference_pairs(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """(prompt, chosen, rejected) from judged samples: the side the feedback model prefers,
    by its (soft) preference; exact ties, identical samples and failed judgments are left out."""
    pairs = []
    for r in rows:
        p = r["preference"]
        if p is None or p == 0.5 or r["response_a"] == r["response_b"]:
            continue
        b_wins = p > 0.5
        pairs.append(
            {
                "prompt": r["prompt"],
                "chosen": r["response_b"] if b_wins else r["response_a"],
                "rejected": r["response_a"] if b_wins else r["response_b"],
            }
        )
    return pairs


def _jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def train_cai(
    config: CAITrainConfig,
    log: Log = lambda _: None,
    evaluation: CheckpointEvaluation | None = None,
) -> TrainResult:
    """Both CAI stages; the final checkpoint and manifest go to `config.out`. With
    `evaluation`, checkpoints of both stages are evaluated on one step count (RL-CAI's
    steps follow SL-CAI's); an interrupted CAI run starts afresh."""
    constitution = load_constitution(config.constitution)
    prompts = load_prompts(config.data, config.limit)
    with checkpoint_dir(config.out) as work:
        if evaluation is not None:
            evaluation.staged = True
            evaluation.start(work, 0)
        result = _train_cai_into(work, config, constitution, prompts, log, evaluation)
    return TrainResult(config.out, result.metrics, result.steps, result.seconds)


_SHARED = ("max_steps", "learning_rate", "batch_size", "gradient_accumulation_steps",
           "max_length", "lora", "lora_r", "lora_target_modules", "bf16", "gradient_checkpointing", "seed")  # fmt: skip
"""Training options every CAI stage takes from the CAI config."""


@dataclass
class _CAIRun:
    """One CAI run writing into `out`: SL-CAI, then RL-CAI, then the manifest."""

    out: Path
    config: CAITrainConfig
    constitution: Constitution
    prompts: list[list[Message]]
    base: Any
    log: Log
    evaluation: CheckpointEvaluation | None = None

    def __post_init__(self) -> None:
        rng = random.Random(self.config.seed)
        self.data = CAIData(self.prompts, self.constitution, self.config, rng)
        self.shared = {k: getattr(self.config, k) for k in _SHARED}

    def sl_stage(self) -> tuple[TrainResult, list[dict[str, Any]]]:
        """Answer, critique and revise, then fine-tune on the revisions."""
        out, base = self.out, self.base
        self.log(f"SL-CAI: answering, critiquing and revising {len(self.prompts)} prompts")
        sl_rows = critique_and_revise(str(base.path), self.data)
        _jsonl(out / "sl-cai-data.jsonl", sl_rows)
        sft_rows = [
            {"messages": [*r["prompt"], {"role": "assistant", "content": r["revision"]}]}
            for r in sl_rows
        ]
        _jsonl(out / "sl-cai-sft.jsonl", sft_rows)
        self.log("SL-CAI: supervised fine-tuning on the revisions")
        sl = train(
            SFTTrainConfig(
                model=str(base.path),
                data=str(out / "sl-cai-sft.jsonl"),
                out=out / "sl-cai",
                **self.shared,
            ),
            self.evaluation,
        )
        if self.evaluation is not None:
            self.evaluation.offset = sl.steps  # RL-CAI's steps follow on
        return sl, sl_rows

    def rl_stage(
        self, sl: TrainResult
    ) -> tuple[TrainResult, TrainResult | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """AI feedback on sampled pairs, then DPO (or a reward model and PPO) on it; returns
        the RL result, the reward model's, the judgments and the preference pairs."""
        out, config, shared = self.out, self.config, self.shared
        self.log("RL-CAI: sampling answer pairs and collecting AI feedback")
        judged = ai_preferences(str(sl.out), self.data)
        _jsonl(out / "rl-cai-judgments.jsonl", judged)
        pairs = preference_pairs(judged)
        if not pairs:
            raise UserError(
                "RL-CAI: the feedback model preferred neither sample for any prompt "
                f"(see {out / 'rl-cai-judgments.jsonl'}); use a stronger --judge"
            )
        _jsonl(out / "rl-cai-preferences.jsonl", pairs)
        prefs = str(out / "rl-cai-preferences.jsonl")
        stage_dir = out / "rl-cai"
        reward_model = None
        if config.rl == "dpo":
            self.log(f"RL-CAI: DPO on {len(pairs)} AI preferences")
            rl = train(
                DPOTrainConfig(
                    model=str(sl.out), data=prefs, out=stage_dir, beta=config.beta, **shared
                ),
                self.evaluation,
            )
        else:
            self.log(f"RL-CAI: reward model on {len(pairs)} AI preferences, then PPO")
            reward_model = train(
                RewardTrainConfig(
                    model=str(self.base.path), data=prefs, out=out / "rl-cai-rm", **shared
                )
            )
            rl = train(
                PPOTrainConfig(
                    model=str(sl.out),
                    data=prefs,
                    out=stage_dir,
                    reward=str(reward_model.out),
                    kl_coef=config.kl_coef,
                    **shared,
                ),
                self.evaluation,
            )
        return rl, reward_model, judged, pairs

    def manifest(
        self, stage_manifest: dict[str, Any], sl: TrainResult, rl: TrainResult, has_rm: bool
    ) -> dict[str, Any]:
        """The CAI checkpoint's manifest: the RL stage's, plus what each stage did."""
        config, constitution = self.config, self.constitution
        return {
            **stage_manifest,
            "method": "cai",
            "base_model": self.base.identity(
                "transformers", "bfloat16" if config.bf16 else "float32"
            ),
            "data": {"source": config.data, "prompts": len(self.prompts)},
            "config": json.loads(config.model_dump_json()),
            "constitution": {
                "name": constitution.name,
                "version": constitution.version,
                "principles": [p.name for p in constitution.principles],
            },
            "stages": {
                "sl_cai": {"checkpoint": "sl-cai", "data": "sl-cai-data.jsonl", "steps": sl.steps},
                "rl_cai": {
                    "method": config.rl,
                    "feedback_model": config.judge or "local:sl-cai (the SL-CAI model itself)",
                    "judgments": "rl-cai-judgments.jsonl",
                    "preferences": "rl-cai-preferences.jsonl",
                    "reward_model": "rl-cai-rm" if has_rm else None,
                    "steps": rl.steps,
                },
            },
            "steps": sl.steps + rl.steps,
        }


def _cai_metrics(
    sl: TrainResult,
    rl: TrainResult,
    sl_rows: Sequence[dict[str, Any]],
    judged: Sequence[dict[str, Any]],
    pairs: Sequence[dict[str, Any]],
) -> dict[str, float]:
    decided = [r for r in judged if r["preference"] is not None]
    consistent = [r for r in decided if r["consistent"] is not None]
    return {
        **{f"sl/{k}": v for k, v in sl.metrics.items() if "loss" in k},
        **{f"rl/{k}": v for k, v in rl.metrics.items()},
        "cai/revised_share": sum(r["revision"] != r["initial"] for r in sl_rows) / len(sl_rows),
        "cai/ai_pairs": float(len(pairs)),
        "cai/judged": float(len(decided)),
        "cai/feedback_position_consistency": (
            sum(bool(r["consistent"]) for r in consistent) / len(consistent) if consistent else 0.0
        ),
    }


def _train_cai_into(
    out: Path,
    config: CAITrainConfig,
    constitution: Constitution,
    prompts: list[list[Message]],
    log: Log,
    evaluation: CheckpointEvaluation | None = None,
) -> TrainResult:
    from harness.engines.models import resolve_model

    run = _CAIRun(out, config, constitution, prompts, resolve_model(config.model), log, evaluation)
    started = time.time()
    sl, sl_rows = run.sl_stage()
    rl, reward_model, judged, pairs = run.rl_stage(sl)
    stage_dir = out / "rl-cai"
    stage_manifest = json.loads((stage_dir / "manifest.json").read_text(encoding="utf-8"))
    for item in stage_dir.iterdir():
        if item.name != "manifest.json":
            shutil.move(str(item), out / item.name)
    shutil.rmtree(stage_dir)
    metrics = _cai_metrics(sl, rl, sl_rows, judged, pairs)
    seconds = time.time() - started - (evaluation.seconds if evaluation else 0.0)
    manifest = {
        **run.manifest(stage_manifest, sl, rl, reward_model is not None),
        "final_metrics": metrics,
        "wall_seconds": round(seconds, 1),
    }
    if evaluation is not None:
        manifest["evaluation"] = {
            **evaluation.finish(out, evaluation.logs, seconds),
            "seconds": round(evaluation.seconds, 1),
        }
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return TrainResult(out, metrics, sl.steps + rl.steps, seconds)
