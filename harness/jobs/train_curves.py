"""`harness train METHOD ... --eval-every N --eval-suite S`: training whose checkpoints are
evaluated while it runs, as curves over steps.

At step 0, every N steps and the last step the trainer's callback (trainers/eval_callback.py)
saves the policy to `checkpoints/step-NNNNNN`; here each one goes through `harness run`'s own
job (greedy, fixed seed, the results store) into `evals/step-NNNNNN/`, and, with a judge,
through `harness compare` against the step-0 policy (position-swapped). Each finished
evaluation is appended to `curves.jsonl`, so a killed run resumes without evaluating a
finished step again. At the end come `curves.json` (every measure at every step with its CI
and n, the trainer's own logs at that step, the `--select` choice) and `report.html`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.progress import Progress, SilentProgress
from harness.core.records import GenerationParams
from harness.stats.selection import parse_rule, select
from suites import load_suites
from trainers.common import Log
from trainers.config import InTrainingEval, TrainConfig
from trainers.eval_callback import CheckpointEvaluation, step_name
from trainers.method import TrainResult

RECORDS = "curves.jsonl"
"""One line per finished evaluation, in the work directory (the resume log)."""
TRAINER_LOGS = (
    "loss",
    "rewards/margins",
    "rewards/accuracies",
    "rewards/chosen",
    "rewards/rejected",
    "objective/kl",
    "objective/entropy",
    "objective/rlhf_reward",
    "objective/scores",
    "mean_token_accuracy",
)
"""What the trainer logged at a step that the curves keep (TRL's names)."""


def train_with_curves(
    config: TrainConfig, log: Log = print, progress: Progress | None = None
) -> TrainResult:
    """Check the evaluation options before any model loads, then train with evaluation."""
    from trainers.run import train

    ev = config.evaluation
    if ev is None:
        raise UserError("in-training evaluation needs --eval-every and --eval-suite")
    _check(ev)
    curves = _Curves(config, ev, log, progress or SilentProgress())
    evaluation = CheckpointEvaluation(
        every=ev.every, evaluate=curves.evaluate, recorded=curves.recorded, finish=curves.finish
    )
    return train(config, log, evaluation)


def _check(ev: InTrainingEval) -> None:
    """Suites, scorers, the judge template and the selection rule, each read once now."""
    from judges.llm.template import load_template
    from judges.scorers.factory import lookup_scorer

    load_suites(list(ev.suites))
    for name in ev.scorers:
        lookup_scorer(name)
    if ev.judge is not None:
        template = load_template(ev.judge_template)
        if template.config.kind != "pairwise":
            raise UserError(f"--eval-judge-template '{template.name}' is not a pairwise template")


class _Curves:
    """The evaluator the training callback calls, and what it leaves behind."""

    def __init__(self, config: TrainConfig, ev: InTrainingEval, log: Log, progress: Progress):
        self.config, self.ev, self.log, self.progress = config, ev, log, progress
        self.params = GenerationParams(max_new_tokens=ev.max_new_tokens, seed=config.seed)

    def recorded(self, work: Path, upto: int) -> set[int]:
        """Evaluations an interrupted run finished, up to the step training resumes from;
        later ones (and their run directories) are forgotten, to be redone."""
        kept = [r for r in _read_records(work) if r["step"] <= upto]
        write_text_atomic(work / RECORDS, "".join(json.dumps(r) + "\n" for r in kept))
        steps = {r["step"] for r in kept}
        for old in (work / "evals").glob("step-*"):
            if int(old.name.removeprefix("step-")) not in steps:
                shutil.rmtree(old)
        if steps:
            self.log(f"resuming at step {upto}: {len(steps)} evaluation(s) already done")
        return steps

    def evaluate(self, step: int, checkpoint: Path, work: Path) -> None:
        """Run, score and (with a judge) compare one checkpoint; append its record."""
        from harness.jobs.compare import CompareConfig, run_compare
        from harness.jobs.run import RunConfig, run

        started = time.time()
        name = step_name(step)
        out = work / "evals" / name
        shutil.rmtree(out, ignore_errors=True)  # an evaluation a kill interrupted
        self.log(f"evaluate step {step}: {', '.join(self.ev.suites)}")
        run(
            RunConfig(
                model=str(checkpoint),
                suites=tuple(self.ev.suites),
                out=out,
                params=self.params,
                scorers=tuple(self.ev.scorers),
                limit=self.ev.limit,
                command=f"harness train {self.config.model_dump()['method']} (step {step})",
            ),
            self.progress,
        )
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        win: dict[str, Any] | None = None
        if self.ev.judge is not None and step == 0:
            win = {"value": 0.5, "ci_low": None, "ci_high": None, "n": None,
                   "note": "the starting policy, against itself"}  # fmt: skip
        elif self.ev.judge is not None:
            start = work / "checkpoints" / step_name(0)
            found = run_compare(
                CompareConfig(
                    models=(f"start={start}", f"{name}={checkpoint}"),
                    baseline="start",
                    suites=tuple(self.ev.suites),
                    judge=self.ev.judge,
                    judge_base_url=self.ev.judge_base_url,
                    template=self.ev.judge_template,
                    out=out / "compare",
                    params=self.params,
                    limit=self.ev.limit,
                    scorers=(),
                    command=f"harness train (step {step} vs step 0)",
                ),
                self.progress,
            )
            win = _win_rate(next(r for r in found["models"] if r["model"] == name))
            failed = sum(u["failed"] for u in found["manifest"]["judge_usage"])
            if failed:  # left out of the win rate; the pairs are in evals/.../compare
                win["judge_failed"] = failed
                self.log(
                    f"step {step}: {failed} judgment(s) failed and are in no win rate "
                    f"(see {out / 'compare' / 'judgments.jsonl'})"
                )
        record = {
            "step": step,
            "checkpoint": f"checkpoints/{name}",
            "run": f"evals/{name}",
            "metrics": summary["metrics"],
            "scorers": summary["manifest"]["scorers"],
            "win_rate": win,
            "eval_seconds": round(time.time() - started, 1),
            "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with (work / RECORDS).open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.log(f"step {step}: {_brief(record)} ({record['eval_seconds']:.0f} s)")

    def finish(
        self, work: Path, log_history: list[dict[str, Any]], train_seconds: float
    ) -> dict[str, Any]:
        """curves.json and report.html from the records; the manifest's `evaluation` entry."""
        from reports.curves import render_curves_report

        logs: dict[int, dict[str, float]] = {}
        for entry in log_history:
            if "step" in entry:
                kept = {k: float(v) for k, v in entry.items() if k in TRAINER_LOGS}
                logs.setdefault(int(entry["step"]), {}).update(kept)
        points = sorted(_read_records(work), key=lambda r: r["step"])
        for p in points:
            p["trainer"] = logs.get(p["step"], {})
        selection = None
        if self.ev.select is not None:
            selection = select(parse_rule(self.ev.select), [_measures(p) for p in points])
            if selection.get("selected") is not None:
                selection["checkpoint"] = f"checkpoints/{step_name(selection['selected'])}"
        curves = {
            "method": self.config.model_dump()["method"],
            "base_model": self.config.model,
            "data": self.config.data,
            "evaluation": json.loads(self.ev.model_dump_json()),
            "points": points,
            "selection": selection,
            "seconds": {
                "training": round(train_seconds, 1),
                "evaluation": round(sum(p["eval_seconds"] for p in points), 1),
            },
        }
        write_text_atomic(work / "curves.json", json.dumps(curves, indent=2) + "\n")
        write_text_atomic(work / "report.html", render_curves_report(curves))
        (work / RECORDS).unlink(missing_ok=True)
        if selection is not None:
            self.log(f"--select {self.ev.select}: {selection['why']}")
        return {
            "every": self.ev.every,
            "suites": list(self.ev.suites),
            "judge": self.ev.judge,
            "steps": [p["step"] for p in points],
            "selection": selection,
            "curves": "curves.json",
            "report": "report.html",
        }


def _read_records(work: Path) -> list[dict[str, Any]]:
    """The resume log's records (a line a kill cut short is dropped: that step is redone)."""
    path = work / RECORDS
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _win_rate(row: dict[str, Any]) -> dict[str, Any]:
    """Compare's row of a checkpoint as a share with its Wilson interval; value None when the
    judge gave no verdicts (the row's verdict share says how many it gave)."""
    from reports.scorecard import win_rate_measure

    share = win_rate_measure(row)
    if share is None:
        return {"value": None, "verdict_share": row.get("judge_verdict_share")}
    return {
        **{k: share[k] for k in ("value", "ci_low", "ci_high", "n")},
        "length_controlled": row.get("length_controlled_winrate"),
        "judge_consistency": row.get("judge_consistency"),
        "verdict_share": row.get("judge_verdict_share"),
    }


def _measures(point: dict[str, Any]) -> dict[str, Any]:
    """A point as the selection reads it: its measures over all suites, by metric name."""
    from reports.scorecard import overall

    found = dict(overall(point["metrics"]))
    if point.get("win_rate") and point["win_rate"].get("value") is not None:
        found["win_rate"] = point["win_rate"]
    return {"step": point["step"], "measures": found}


def _brief(record: dict[str, Any]) -> str:
    found = _measures(record)["measures"]
    parts = []
    for metric, label in (
        ("harmful_compliance_rate", "harmful compliance"),
        ("over_refusal_rate", "over-refusal"),
        ("win_rate", "win rate vs step 0"),
    ):
        m = found.get(metric)
        if m and m.get("value") is not None:
            parts.append(f"{label} {100 * m['value']:.0f}% (n={m.get('n')})")
    return ", ".join(parts) or "no headline measure"
