"""The distribution-shift experiment for robust DPO: train standard DPO and robust DPO
(KLDPO, or WDPO with `robust_ball: wasserstein`) on the
preferences of one sub-population, evaluate both on held-out pairs of that sub-population
and on pairs of other sub-populations (`harness dpo-shift`).

Sub-populations are topics of the first user turn, found by keyword rules (`TOPICS`);
pairs matching several topics are left out. Dialogue context is trimmed to its last turns
(`context_chars`) so that the answers, which carry the preference, fit in `max_length`
tokens; without it half of HH-RLHF's answers would be truncated away. The measure is DPO's implicit-reward
preference accuracy: the share of pairs where
beta * [(log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected))] > 0,
i.e. where the trained policy ranks the human-preferred answer first. It needs no judge
and no generation, so it is exact for the checkpoints at hand. Each accuracy comes with its
Wilson 95% CI and n; robust minus standard with a paired bootstrap CI on the same pairs.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.engines.models import resolve_model
from harness.jobs.kept_training import train_or_keep
from harness.stats.intervals import wilson_share
from harness.stats.winrate import paired_difference
from trainers.common import Log
from trainers.config import DPOTrainConfig
from trainers.data import PreferencePair, load_pairs, write_pairs
from trainers.robust_dpo import sequence_logps

TOPICS: dict[str, str] = {
    "violence": r"\b(kill|murder|hurt|punch|beat up|weapon|gun|shoot|stab|bomb|fight|attack|poison|violen)",
    "theft": r"\b(steal|stole|rob|shoplift|theft|burglar|break into|pickpocket|scam|fraud|cheat)",
    "drugs": r"\b(drug|cocaine|heroin|meth|weed|marijuana|pills|high|drunk|alcohol|beer)",
    "insults": r"\b(insult|curse|swear|racist|offensive|stupid|ugly|fat|slur|jokes? about)",
}
"""Keyword rules on the first user turn (lower-cased) defining HH-RLHF sub-populations."""


class ShiftConfig(BaseModel):
    """`harness dpo-shift` settings."""

    model_config = ConfigDict(extra="forbid")
    model: str = "smollm2"
    data: str
    """Preference pairs (any `harness train dpo` source; HH-RLHF for the built-in topics)."""
    out: Path
    source_topic: str = "violence"
    shifted_topics: list[str] = Field(default_factory=lambda: ["theft", "drugs", "insults"])
    train_pairs: int = Field(default=120, ge=2)
    eval_pairs: int = Field(default=60, ge=2)
    """Held-out pairs of the source topic."""
    shifted_pairs: int = Field(default=60, ge=2)
    """Pairs per shifted topic (at most)."""
    max_steps: int = Field(default=15, ge=1)
    batch_size: int = Field(default=8, ge=2)
    learning_rate: float = Field(default=5e-5, gt=0)
    beta: float = Field(default=0.1, gt=0)
    robust_radius: float = Field(default=0.5, gt=0)
    robust_ball: Literal["kl", "wasserstein"] = "kl"
    max_length: int = Field(default=192, ge=16)
    context_chars: int = Field(default=400, ge=1)
    """Earlier dialogue turns are dropped until the prompt has at most this many characters
    (the last user turn is kept, cut from its start if it alone is longer)."""
    seed: int = 0

    @model_validator(mode="after")
    def _known_topics(self) -> ShiftConfig:
        for topic in [self.source_topic, *self.shifted_topics]:
            if topic not in TOPICS:
                raise ValueError(f"unknown topic '{topic}' (one of {', '.join(TOPICS)})")
        if self.source_topic in self.shifted_topics:
            raise ValueError("the source topic cannot also be a shifted topic")
        return self


def topic_of(pair: PreferencePair) -> str | None:
    """The single topic whose keywords the first user turn matches (None: none or several)."""
    first = next((m["content"] for m in pair.prompt if m["role"] == "user"), "").lower()
    hits = [name for name, rule in TOPICS.items() if re.search(rule, first)]
    return hits[0] if len(hits) == 1 else None


def trim_context(pair: PreferencePair, max_chars: int) -> PreferencePair:
    """The pair with its earliest turns dropped until the prompt fits `max_chars`."""
    turns = list(pair.prompt)
    while len(turns) > 2 and sum(len(t["content"]) for t in turns) > max_chars:
        turns = turns[2:]  # one user and one assistant turn
    last = turns[-1]
    if len(last["content"]) > max_chars:
        turns[-1] = {**last, "content": last["content"][-max_chars:]}
    return PreferencePair(turns, pair.chosen, pair.rejected)


def split_topics(
    pairs: list[PreferencePair], config: ShiftConfig
) -> dict[str, list[PreferencePair]]:
    """`train` and `eval` from the source topic, one list per shifted topic."""
    by_topic: dict[str, list[PreferencePair]] = {t: [] for t in TOPICS}
    for pair in pairs:
        topic = topic_of(pair)
        if topic is not None:
            by_topic[topic].append(trim_context(pair, config.context_chars))
    rng = random.Random(config.seed)
    for rows in by_topic.values():
        rng.shuffle(rows)
    source = by_topic[config.source_topic]
    need = config.train_pairs + config.eval_pairs
    if len(source) < need:
        raise UserError(
            f"{config.data}: {len(source)} pairs on topic '{config.source_topic}', "
            f"fewer than --train-pairs + --eval-pairs = {need}"
        )
    split = {"train": source[: config.train_pairs], "eval": source[config.train_pairs : need]}
    for topic in config.shifted_topics:
        if not by_topic[topic]:
            raise UserError(f"{config.data}: no pairs on topic '{topic}'")
        split[topic] = by_topic[topic][: config.shifted_pairs]
    return split


def pair_logps(
    model_dir: str, pairs: list[PreferencePair], max_length: int, batch_size: int = 8
) -> np.ndarray:
    """(n, 2) summed log-probabilities of each pair's chosen and rejected answers given its
    prompt, under the model's chat template (answers truncated to `max_length` tokens in
    all, as in training)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]
    rows: list[tuple[list[int], int]] = []
    for pair in pairs:
        prompt = list(
            tokenizer.apply_chat_template(
                pair.prompt, add_generation_prompt=True, return_dict=False
            )
        )
        for answer in (pair.chosen, pair.rejected):
            full = list(
                tokenizer.apply_chat_template(
                    [*pair.prompt, {"role": "assistant", "content": answer}], return_dict=False
                )
            )
            rows.append((full[:max_length], min(len(prompt), max_length)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = np.zeros(len(rows))
    with torch.no_grad():
        for at in range(0, len(rows), batch_size):
            chunk = rows[at : at + batch_size]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.full((len(chunk), width), pad)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            scored = torch.zeros((len(chunk), width))
            for k, (seq, start) in enumerate(chunk):
                ids[k, : len(seq)] = torch.tensor(seq)
                mask[k, : len(seq)] = 1
                scored[k, start : len(seq)] = 1
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
            out[at : at + len(chunk)] = sequence_logps(logits, ids, scored).numpy()
    return out.reshape(-1, 2)


def correct_rankings(policy: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """1 where the implicit reward prefers the chosen answer, 0 where the rejected, 0.5 tie."""
    margin = (policy[:, 0] - reference[:, 0]) - (policy[:, 1] - reference[:, 1])
    return np.where(margin > 0, 1.0, np.where(margin < 0, 0.0, 0.5))


def accuracy(correct: np.ndarray) -> dict[str, float]:
    """Share of correctly ranked pairs, Wilson 95% CI (ties count half) and n."""
    return wilson_share(float(correct.sum()), len(correct))


def _train_variant(config: ShiftConfig, name: str, radius: float, data: Path, log: Log) -> Path:
    wanted = DPOTrainConfig(
        model=config.model,
        data=str(data),
        out=config.out / name,
        max_steps=config.max_steps,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        beta=config.beta,
        robust_radius=radius,
        robust_ball=config.robust_ball,
        max_length=config.max_length,
        seed=config.seed,
    )
    what = f"{config.max_steps} steps, {config.robust_ball} radius {radius}"
    train_or_keep(wanted, name, log, what)
    return wanted.out


def _correct_rankings(
    config: ShiftConfig,
    split: dict[str, list[PreferencePair]],
    sets: list[str],
    models: dict[str, Path],
) -> dict[str, dict[str, np.ndarray]]:
    """Per evaluation set and policy, whether its implicit reward ranks each pair right."""
    base = resolve_model(config.model).path
    scored = [p for s in sets for p in split[s]]  # each model loaded once for every set
    logps = {
        label: pair_logps(str(path), scored, config.max_length)
        for label, path in {"reference": Path(base), **models}.items()
    }
    spans, at = {}, 0
    for s in sets:
        spans[s], at = slice(at, at + len(split[s])), at + len(split[s])
    return {
        s: {m: correct_rankings(logps[m][span], logps["reference"][span]) for m in models}
        for s, span in spans.items()
    }


def run_shift_experiment(config: ShiftConfig, log: Log = lambda _: None) -> dict[str, Any]:
    """Train both variants (kept across re-runs), evaluate them, write shift.json,
    summary.md and report.html into `config.out`; returns the shift.json payload."""
    from reports.shift import render_shift_report, shift_summary_markdown

    started = time.time()
    config.out.mkdir(parents=True, exist_ok=True)
    split = split_topics(load_pairs(config.data), config)
    train_file = config.out / "train-pairs.jsonl"
    write_pairs(train_file, split["train"])
    models = {
        "standard": _train_variant(config, "standard", 0.0, train_file, log),
        "robust": _train_variant(config, "robust", config.robust_radius, train_file, log),
    }
    sets = ["eval", *config.shifted_topics]
    log("scoring the pairs under the reference and both policies")
    correct = _correct_rankings(config, split, sets, models)

    def compared(by_model: dict[str, np.ndarray]) -> dict[str, Any]:
        return {
            "n": len(by_model["standard"]),
            **{m: accuracy(c) for m, c in by_model.items()},
            "robust_minus_standard": paired_difference(
                by_model["standard"], by_model["robust"], unit="pairs"
            ),
        }

    results = {s: compared(correct[s]) for s in sets}
    results["shifted (all)"] = compared(
        {m: np.concatenate([correct[t][m] for t in config.shifted_topics]) for m in models}
    )
    worst = {m: min(config.shifted_topics, key=lambda t: results[t][m]["value"]) for m in models}
    manifests = {
        m: json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        for m, path in models.items()
    }
    payload = {
        "config": json.loads(config.model_dump_json()),
        "robust_label": "KLDPO" if config.robust_ball == "kl" else "WDPO",
        "sets": {"train": len(split["train"]), **{s: len(split[s]) for s in sets}},
        "results": results,
        "worst_topic": {m: {"topic": t, **results[t][m]} for m, t in worst.items()},
        "training": {
            m: {k: man[k] for k in ("steps", "wall_seconds", "final_metrics")}
            for m, man in manifests.items()
        },
        "seconds": round(time.time() - started, 1),
    }
    write_text_atomic(config.out / "shift.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(config.out / "summary.md", shift_summary_markdown(payload))
    write_text_atomic(config.out / "report.html", render_shift_report(payload))
    return payload
