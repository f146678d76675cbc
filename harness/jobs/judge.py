"""The judge job: LLM-as-judge over a JSONL file, pairwise (both orders), pointwise grades or
labels; writes OUT.jsonl, OUT.summary.json and OUT.report.html atomically.

    harness judge pairwise --input pairs.jsonl --output out/verdicts.jsonl --judge local:smollm2
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.paths import check_out_file, default_store_path
from harness.core.progress import Progress, SilentProgress
from harness.core.store import ResultsStore
from judges.llm.client import Endpoint, JudgeClient
from judges.llm.position_swap import Inconsistent, inconsistent_policy
from judges.llm.template import JudgeKind

DEFAULT_TEMPLATE: dict[str, str] = {
    "pairwise": "pairwise-v1",
    "pointwise": "pointwise-v1",
    "classify": "refusal-3class-v1",
}
"""The template each kind uses unless `template` names another."""


@dataclass(frozen=True)
class JudgeConfig:
    """Everything `harness judge` needs; checked by `run_judge` before any request is sent."""

    kind: JudgeKind
    input: Path
    """JSONL input: id, prompt, response_a, response_b (pairwise) or response (else)."""
    output: Path
    """JSONL output; OUT.summary.json and OUT.report.html are written beside it."""
    judge: str
    """`openai:MODEL` or `local:MODEL`."""
    template: str | None = None
    """Template name or folder (default: `DEFAULT_TEMPLATE[kind]`)."""
    swap: bool = True
    """Pairwise: judge both orders (position-swap debiasing)."""
    inconsistent: str = "tie"
    """Pairwise: pairs whose orders disagree become a 'tie' or are 'flag'ged."""
    seed: int = 0
    """Pairwise without swap: seed of the content-seeded order."""
    judge_base_url: str | None = None
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    max_requests: int | None = None
    """Budget: at most this many requests."""
    max_tokens_budget: int | None = None
    """Budget: at most this many tokens."""
    store: Path | None = None
    price: tuple[float, float] = (0.0, 0.0)
    """Dollars per million prompt and completion tokens."""
    min_verdict_mass: float = 0.5
    """Log-probability templates: least P(A) + P(B) a verdict may rest on (0: any)."""
    panel: tuple[str, ...] = ()
    """More judges deciding with `judge` as a panel (judges/panel/); `judge` may also name a
    panel file."""
    panel_aggregate: str = "vote"
    """How a panel decides: the members' majority (`vote`; pointwise: median grade) or their
    mean (P(B wins) per order, or grade)."""
    canary: Path | None = None
    """A canary file (`harness canary pin`): checked alongside, its verdict in the summary."""
    canary_sample: int | None = None
    canary_seed: int = 0


@dataclass(frozen=True)
class JudgeOutcome:
    """What a judge run wrote, and its summary (usage, metrics with CIs)."""

    summary: dict[str, Any]
    output: Path
    summary_path: Path
    report_path: Path

    @property
    def failed(self) -> int:
        """Judgments without a reply (recorded with their reason; a re-run retries them)."""
        return int(self.summary["usage"]["failed"])


def run_judge(config: JudgeConfig, progress: Progress | None = None) -> JudgeOutcome:
    """Judge every item of `config.input` and write the three output files."""
    from judges.llm.backends import Budget
    from judges.llm.files import read_pairs, read_points, result_record, summarise
    from judges.llm.judge import Price
    from judges.llm.template import load_template

    progress = progress or SilentProgress()
    on_inconsistent = inconsistent_policy(config.inconsistent)
    loaded = load_template(config.template or DEFAULT_TEMPLATE[config.kind])
    if loaded.config.kind != config.kind:
        raise UserError(
            f"judge template '{loaded.name}' is a {loaded.config.kind} template, not {config.kind}"
        )
    needs_ref = loaded.config.needs_reference
    pairwise = config.kind == "pairwise"
    read = read_pairs if pairwise else read_points
    items: Any = read(config.input, needs_reference=needs_ref)
    check_out_file(config.output)
    if not 0.0 <= config.min_verdict_mass <= 1.0:
        raise UserError("--min-verdict-mass must lie in [0, 1]")
    from judges.panel.panel import Panel, judges_asked
    from judges.panel.spec import build_any_judge, panel_spec

    panel = panel_spec([config.judge, *config.panel], config.panel_aggregate)
    if panel is not None and panel.aggregate == "mean" and config.kind == "classify":
        raise UserError("a panel labels by majority: --panel-aggregate mean needs grades or pairs")
    if config.canary is not None:
        from harness.jobs.canary import canary_member, load_canary

        load_canary(config.canary)  # a bad canary file is refused before any request
        canary_member(config, panel)
    with ResultsStore(config.store or default_store_path()) as results_store:
        judge = build_any_judge(
            [config.judge, *config.panel],
            loaded,
            results_store,
            Endpoint(config.judge_base_url, config.judge_client),
            aggregate=config.panel_aggregate,
            budget=Budget(config.max_requests, config.max_tokens_budget),
            price=Price(*config.price),
            min_verdict_mass=config.min_verdict_mass,
        )
        per_item = 2 if pairwise and config.swap else 1
        progress.start(f"judge {config.kind}", len(items) * per_item * judges_asked(judge))
        results = _judge_items(config, judge, items, on_inconsistent, progress)
    records = [result_record(r, judge) for r in results]
    inputs = [dataclasses.asdict(item) for item in items]
    summary = summarise(results, judge)
    if isinstance(judge, Panel):
        summary["panel"] = panel_summary(judge, results)
    if config.canary is not None:
        from harness.jobs.canary import check_alongside

        summary["canary"] = check_alongside(config, progress, panel)
    return _write(config.output, records, summary, inputs)


def panel_summary(panel: Any, results: list[Any]) -> dict[str, Any]:
    """A panel's part of a summary: what it is, every member's own measures and spending,
    how often the members split and how far every two agree."""
    from judges.llm.files import summarise

    own = [summarise([r.members[k] for r in results], m) for k, m in enumerate(panel.members)]
    return {
        **panel.summary(results),
        "decides": panel.decides(results[0] if results else None),
        "member_metrics": {n: o["metrics"] for n, o in zip(panel.names, own, strict=True)},
        "member_usage": {
            n: {**o["usage"], "judge": n} for n, o in zip(panel.names, own, strict=True)
        },
    }


def _judge_items(
    config: JudgeConfig,
    judge: Any,
    items: Any,
    on_inconsistent: Inconsistent,
    progress: Progress,
) -> Any:
    from judges.panel.panel import classify, pairwise, pointwise

    if config.kind == "pairwise":
        return pairwise(
            judge,
            items,
            swap=config.swap,
            inconsistent=on_inconsistent,
            seed=config.seed,
            on_done=progress.advance,
        )
    if config.kind == "pointwise":
        return pointwise(judge, items, on_done=progress.advance)
    return classify(judge, items, on_done=progress.advance)


def _write(
    output: Path,
    records: list[dict[str, Any]],
    summary: dict[str, Any],
    inputs: list[dict[str, Any]],
) -> JudgeOutcome:
    from reports.judge import render_judge_report

    stem = output.name.removesuffix(".jsonl")
    summary_path = output.with_name(stem + ".summary.json")
    report_path = output.with_name(stem + ".report.html")
    write_text_atomic(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")
    write_text_atomic(report_path, render_judge_report(summary, records, inputs))
    return JudgeOutcome(summary, output, summary_path, report_path)
