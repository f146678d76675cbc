"""`harness bias-amplification`: the RLAIF experiment. Does a policy trained on a judge's
preferences learn the judge's taste, and more strongly than the labels showed it?

1. The same HH-RLHF prompt pairs are labelled twice: with the human choice, and by the
   judge (`--judge`, both orders; pairs it ties or cannot decide are left out of both label
   sets and counted, so the two sets differ only in their labels).
2. DPO is trained on each label set (`human`, `judge`), from the same base.
3. The base and both policies answer held-out prompts (never in a training pair), through
   `harness compare` with the same judge: its preference for each policy over the base.
4. Along each bias axis (length in words; lists or markdown), the **label bias** is the
   share of a label set's pairs whose chosen answer has more of it, among pairs that differ
   on it; the **output bias** is the share of held-out prompts where the policy's answer has
   more of it than the base's, among prompts where they differ. Both are 0.5 without a bias.
   The **amplification ratio** is (output bias - 0.5) / (label bias - 0.5): 0 means the
   policy did not take the bias up, 1 that it shows it as strongly as its labels did, above
   1 that training amplified it. Its 95% CI is a percentile bootstrap that resamples pairs
   and prompts independently; with too few pairs or prompts, or labels whose bias is not
   clear of 0.5, there is no ratio and a note says why.

Checkpoints are kept across re-runs (settings recorded in their manifests), generations and
judgments go through the results store: a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.atomic import write_text_atomic
from harness.core.errors import IncompleteWork, UserError
from harness.core.paths import check_out_dir, default_store_path
from harness.core.progress import Progress, SilentProgress
from harness.core.records import GenerationParams
from harness.core.store import ResultsStore
from harness.jobs.dpo_shift import trim_context
from harness.jobs.kept_training import train_or_keep
from harness.stats.intervals import FEW, mean_ci, preference_share, too_few, wilson_share
from judges.llm.client import Endpoint, JudgeClient
from judges.scorers.style import has_list, words
from trainers.common import Log
from trainers.config import DPOTrainConfig
from trainers.data import PreferencePair, load_pairs, write_pairs

AXES: dict[str, Callable[[str], float]] = {
    "length": lambda text: float(words(text)),
    "format": lambda text: float(has_list(text)),
}
"""The bias axes measured: words per answer, and lists or markdown (1) or not (0)."""

POLICIES = ("human", "judge")


@dataclass(frozen=True)
class AmplificationConfig:
    """Everything `harness bias-amplification` needs; checked before any work starts."""

    data: str
    """Preference pairs with human labels (`hh-rlhf:PATH` or any `harness train dpo` source)."""
    judge: str
    out: Path
    model: str = "smollm2"
    panel: tuple[str, ...] = ()
    panel_aggregate: str = "vote"
    template: str = "pairwise-v1"
    judge_base_url: str | None = None
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    min_verdict_mass: float = 0.5
    train_pairs: int = 120
    eval_prompts: int = 40
    """Held-out prompts the base and both policies answer."""
    max_steps: int = 15
    batch_size: int = 8
    learning_rate: float = 5e-5
    beta: float = 0.1
    max_length: int = 192
    context_chars: int = 400
    """Earlier dialogue turns are dropped until a prompt has at most this many characters."""
    max_new_tokens: int = 256
    store: Path | None = None
    n_bootstrap: int = 2000
    seed: int = 0
    command: str | None = None

    def check(self) -> None:
        """A UserError naming the setting, before any work."""
        least = {
            "--train-pairs": (self.train_pairs, 2),
            "--eval-prompts": (self.eval_prompts, 2),
            "--max-steps": (self.max_steps, 1),
            "--batch-size": (self.batch_size, 2),
            "--max-length": (self.max_length, 16),
            "--context-chars": (self.context_chars, 1),
            "--max-new-tokens": (self.max_new_tokens, 1),
            "--bootstrap": (self.n_bootstrap, 100),
        }
        for flag, (value, low) in least.items():
            if value < low:
                raise UserError(f"{flag} must be at least {low}, got {value}")
        for flag, rate in {"--learning-rate": self.learning_rate, "--beta": self.beta}.items():
            if rate <= 0:
                raise UserError(f"{flag} must be positive, got {rate}")

    def dpo(self, name: str, data: Path) -> DPOTrainConfig:
        """The DPO run that makes policy `name` from `data`."""
        return DPOTrainConfig(
            model=self.model,
            data=str(data),
            out=self.out / name,
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            beta=self.beta,
            max_length=self.max_length,
            seed=self.seed,
        )


def split_pairs(
    pairs: Sequence[PreferencePair], config: AmplificationConfig
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """Training pairs and held-out pairs (whose prompts the policies answer): trimmed to
    `context_chars`, one pair per prompt, shuffled with the seed; no prompt is in both."""
    seen: set[str] = set()
    unique = []
    for pair in pairs:
        trimmed = trim_context(pair, config.context_chars)
        key = json.dumps(trimmed.prompt)
        if key not in seen and trimmed.chosen.strip() and trimmed.rejected.strip():
            seen.add(key)
            unique.append(trimmed)
    random.Random(config.seed).shuffle(unique)
    need = config.train_pairs + config.eval_prompts
    if len(unique) < need:
        raise UserError(
            f"{config.data}: {len(unique)} usable pairs (distinct prompts), fewer than "
            f"--train-pairs + --eval-prompts = {need}"
        )
    return unique[: config.train_pairs], unique[config.train_pairs : need]


def axis_bias(more: np.ndarray) -> dict[str, Any]:
    """Share of 1s among the pairs that differ on an axis (1: the preferred or trained side
    has more of it), Wilson 95% CI and n; below `FEW` pairs a note instead of a finding."""
    n = len(more)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "note": too_few(0, "pairs")}
    out: dict[str, Any] = {**wilson_share(float(more.sum()), n), "note": None}
    if n < FEW:
        out["note"] = too_few(n, "pairs")
    return out


def axis_values(axis: Callable[[str], float], texts: Sequence[str]) -> np.ndarray:
    """Each text's value on an axis."""
    return np.array([axis(t) for t in texts], dtype=float)


def more_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 where the first side has more of an axis than the second, 0 where less; pairs with
    equal values are left out."""
    differ = a != b
    more: np.ndarray = (a[differ] > b[differ]).astype(float)
    return more


def amplification_ratio(
    label_more: np.ndarray, output_more: np.ndarray, n_bootstrap: int, seed: int
) -> dict[str, Any]:
    """(output bias - 0.5) / (label bias - 0.5) with a percentile bootstrap 95% CI, or None
    and the reason when the data cannot support it."""
    none = {"value": None, "ci_low": None, "ci_high": None}
    if len(label_more) < FEW or len(output_more) < FEW:
        return {**none, "note": too_few(min(len(label_more), len(output_more)), "pairs or prompts")}
    label = axis_bias(label_more)
    if label["ci_low"] <= 0.5 <= label["ci_high"]:
        return {**none, "note": "the labels show no clear bias on this axis (its CI holds 0.5)"}
    rng = np.random.default_rng(seed)
    lab = label_more[rng.integers(0, len(label_more), (n_bootstrap, len(label_more)))].mean(1)
    out = output_more[rng.integers(0, len(output_more), (n_bootstrap, len(output_more)))].mean(1)
    keep = lab != 0.5
    ratios = (out[keep] - 0.5) / (lab[keep] - 0.5)
    value = (output_more.mean() - 0.5) / (label_more.mean() - 0.5)
    if np.ptp(label_more) == 0 and np.ptp(output_more) == 0:  # every resample is the same
        return {
            "value": float(value),
            "ci_low": None,
            "ci_high": None,
            "note": "every pair and prompt agree: no spread to estimate an interval from",
        }
    return {
        "value": float(value),
        "ci_low": float(np.quantile(ratios, 0.025)),
        "ci_high": float(np.quantile(ratios, 0.975)),
        "note": None,
    }


def _label(
    config: AmplificationConfig,
    train: list[PreferencePair],
    store: ResultsStore,
    progress: Progress,
) -> tuple[list[Any], dict[str, Any]]:
    """The judge's verdict on every training pair (A: the human-chosen answer shown first),
    and the judge's description."""
    from harness.core.records import Message
    from judges.audit.pairs import dialogue_text
    from judges.llm.template import load_template
    from judges.llm.verdicts import PairItem
    from judges.panel.panel import judges_asked, pairwise
    from judges.panel.spec import build_any_judge

    judge = build_any_judge(
        [config.judge, *config.panel],
        load_template(config.template),
        store,
        Endpoint(config.judge_base_url, config.judge_client),
        aggregate=config.panel_aggregate,
        min_verdict_mass=config.min_verdict_mass,
    )
    items = [
        PairItem(
            f"train/{i}",
            dialogue_text([Message.model_validate(m) for m in p.prompt]),
            p.chosen,
            p.rejected,
        )
        for i, p in enumerate(train)
    ]
    progress.start("label", len(items) * 2 * judges_asked(judge))
    results = pairwise(judge, items, on_done=progress.advance)
    return results, {"judge": judge.describe(), "usage": judge.spent()}


def _request_failed(result: Any) -> bool:
    """A judge request behind this result failed (no reply): a re-run may still decide it,
    unlike a reply the judge gave but that has no verdict."""
    return any(o.raw is None and o.error is not None for o in result.orders) or any(
        _request_failed(m) for m in result.members
    )


def _write_heldout(path: Path, heldout: list[PreferencePair]) -> None:
    rows = [
        json.dumps({"id": f"h{i}", "messages": p.prompt, "category": "hh-rlhf"}, ensure_ascii=False)
        for i, p in enumerate(heldout)
    ]
    write_text_atomic(path, "\n".join(rows) + "\n")


def _checked(config: AmplificationConfig) -> None:
    from judges.llm.backends import check_judge_spec
    from judges.llm.template import load_template
    from judges.panel.spec import panel_spec

    config.check()
    panel = panel_spec([config.judge, *config.panel], config.panel_aggregate)
    for member in [m.judge for m in panel.members] if panel else [config.judge]:
        check_judge_spec(member)
    if load_template(config.template).config.kind != "pairwise":
        raise UserError(f"judge template '{config.template}' is not a pairwise template")


def run_bias_amplification(
    config: AmplificationConfig, progress: Progress | None = None, log: Log = lambda _: None
) -> dict[str, Any]:
    """Label, train, generate, judge and measure; writes amplification.json, summary.md and
    report.html into `config.out` and returns the amplification.json payload."""
    from harness.jobs.compare import CompareConfig, run_compare
    from reports.amplification import amplification_markdown, render_amplification_report

    progress = progress or SilentProgress()
    started = time.time()
    _checked(config)
    train, heldout = split_pairs(load_pairs(config.data), config)
    check_out_dir(config.out)
    with ResultsStore(config.store or default_store_path()) as store:
        verdicts, judge_info = _label(config, train, store, progress)
    failed = sum(_request_failed(r) for r in verdicts)
    if failed:
        raise IncompleteWork(
            f"{failed} training pair(s) have a failed judge request; re-run to retry them "
            "(the judged ones come from the store) before anything is trained"
        )
    decided = [
        (p, r.verdict) for p, r in zip(train, verdicts, strict=True) if r.verdict in ("A", "B")
    ]
    if len(decided) < 2:
        raise UserError(
            f"the judge decided {len(decided)} of {len(train)} training pairs; DPO needs at least 2"
        )
    label_sets = {
        "human": [p for p, _ in decided],
        "judge": [
            p if v == "A" else PreferencePair(p.prompt, p.rejected, p.chosen) for p, v in decided
        ],
    }
    labels_rows = [
        {
            "id": f"train/{i}",
            "verdict": {"A": "human-chosen", "B": "human-rejected"}.get(r.verdict or "", r.verdict),
            "status": r.status,
            "chosen_words": words(p.chosen),
            "rejected_words": words(p.rejected),
        }
        for i, (p, r) in enumerate(zip(train, verdicts, strict=True))
    ]
    write_text_atomic(
        config.out / "labels.jsonl", "".join(json.dumps(r) + "\n" for r in labels_rows)
    )
    for name in POLICIES:
        write_pairs(config.out / f"{name}-pairs.jsonl", label_sets[name])
        train_or_keep(config.dpo(name, config.out / f"{name}-pairs.jsonl"), name, log)
    suite = config.out / "heldout.jsonl"
    _write_heldout(suite, heldout)
    compared = run_compare(
        CompareConfig(
            models=(
                f"base={config.model}",
                *(f"{name}={config.out / name}" for name in POLICIES),
            ),
            baseline="base",
            suites=(str(suite),),
            judge=config.judge,
            panel=config.panel,
            panel_aggregate=config.panel_aggregate,
            template=config.template,
            out=config.out / "compare",
            params=GenerationParams(max_new_tokens=config.max_new_tokens),
            judge_base_url=config.judge_base_url,
            judge_client=config.judge_client,
            min_verdict_mass=config.min_verdict_mass,
            store=config.store,
            scorers=(),
            command=config.command,
        ),
        progress,
    )
    payload = measure(config, label_sets, verdicts, config.out / "compare" / "judgments.jsonl")
    payload.update(
        judge=judge_info,
        compare=[
            {
                k: row.get(k)
                for k in ("model", "win_rate", "win_rate_ci", "length_controlled_winrate")
            }
            for row in compared["models"]
        ],
        training={
            name: {
                k: json.loads((config.out / name / "manifest.json").read_text(encoding="utf-8"))[k]
                for k in ("steps", "wall_seconds")
            }
            for name in POLICIES
        },
        seconds=round(time.time() - started, 1),
    )
    write_text_atomic(config.out / "amplification.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(config.out / "summary.md", amplification_markdown(payload))
    write_text_atomic(config.out / "report.html", render_amplification_report(payload))
    return payload


def measure(
    config: AmplificationConfig,
    label_sets: dict[str, list[PreferencePair]],
    verdicts: Sequence[Any],
    judgments: Path,
) -> dict[str, Any]:
    """The figures of amplification.json from the label sets and the comparison's
    judgments (base as answer A, each policy as answer B)."""
    rows = [json.loads(line) for line in judgments.read_text(encoding="utf-8").splitlines()]
    texts: dict[str, list[str]] = {}
    capped: dict[str, list[bool]] = {}
    preference: dict[str, list[float | None]] = {}
    for name in POLICIES:
        mine = [r for r in rows if r["model_b"] == name]
        texts["base"] = [r["response_a"] for r in mine]
        capped["base"] = [r["truncated_a"] for r in mine]
        texts[name] = [r["response_b"] for r in mine]
        capped[name] = [r["truncated_b"] for r in mine]
        preference[name] = [r["preference"] for r in mine]
    statuses = [r.status for r in verdicts]
    labels = {
        "pairs": len(verdicts),
        "decided": len(label_sets["human"]),
        "ties": sum(r.verdict == "tie" for r in verdicts),
        "no_verdict": sum(r.verdict is None for r in verdicts),
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "judge_agrees_with_humans": wilson_share(
            float(sum(r.verdict == "A" for r in verdicts)), len(label_sets["human"])
        ),
    }
    axes: dict[str, Any] = {}
    for axis_name, axis in AXES.items():
        label_more = {
            name: more_of(
                axis_values(axis, [p.chosen for p in pairs]),
                axis_values(axis, [p.rejected for p in pairs]),
            )
            for name, pairs in label_sets.items()
        }
        values = {name: axis_values(axis, t) for name, t in texts.items()}
        entry: dict[str, Any] = {"labels": {n: axis_bias(m) for n, m in label_more.items()}}
        entry["models"] = {name: _per_answer(axis_name, v) for name, v in values.items()}
        entry["policies"] = {}
        for name in POLICIES:
            output_more = more_of(values[name], values["base"])
            diff = mean_ci(
                list(values[name] - values["base"]),
                suite="heldout",
                metric=f"{axis_name}_minus_base",
            )
            entry["policies"][name] = {
                "output_bias": axis_bias(output_more),
                "minus_base": diff.model_dump() if diff else None,
                "amplification": amplification_ratio(
                    label_more[name], output_more, config.n_bootstrap, config.seed
                ),
            }
        axes[axis_name] = entry
    judge_preference = {}
    for name in POLICIES:
        share = preference_share(preference[name])
        n = int(share["n"] or 0)
        judge_preference[name] = {
            **share,
            "no_verdict": len(preference[name]) - n,
            "note": too_few(n, "prompts") if n < FEW else None,
        }
    return {
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(config).items()
            if k not in ("judge_client", "command")
        },
        "sets": {"train": len(verdicts), "heldout": len(texts["base"])},
        "labels": labels,
        "axes": axes,
        "judge_preference": judge_preference,
        "at_token_limit": {m: wilson_share(float(sum(c)), len(c)) for m, c in capped.items()},
    }


def _per_answer(name: str, values: np.ndarray) -> dict[str, Any]:
    """Per model: mean words with a t-interval, or the list/markdown share with Wilson's."""
    if name == "format":
        return axis_bias(values)
    found = mean_ci(list(values), suite="heldout", metric="mean_words")
    return found.model_dump() if found else {"value": None, "n": len(values)}
