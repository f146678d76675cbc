"""`harness audit-judge`: audit one judge, or several side by side, on human-labelled pairs.

    harness audit-judge --judge local:smollm2 --pairs hh-rlhf:../shared/data/hh-rlhf/harmless-base-test.jsonl.gz \\
        --limit 200 --out runs/audit

Writes `audit.json` (per judge, one object per measure: value, ci_low, ci_high, n, note),
`items.jsonl` (everything each number is computed from) and `report.html` (a report card).
Judgments and the judge model's own answers go through the results store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.manifest import job_manifest
from harness.core.paths import check_out_dir, default_store_path
from harness.core.progress import Progress, SilentProgress
from harness.core.records import GenerationParams, Sample
from harness.core.store import ResultsStore
from harness.engines.base import EngineConfig
from harness.engines.factory import create_engine
from harness.jobs.run import generate_stage
from judges.llm.client import Endpoint, JudgeClient
from suites.suite import Suite

if TYPE_CHECKING:
    from judges.audit.measures import AuditItem, LabelledPair
    from judges.panel.spec import Member, PanelSpec


@dataclass(frozen=True)
class AuditConfig:
    """What `harness audit-judge` needs."""

    judges: tuple[str, ...]
    """Judge specs (`openai:MODEL`, `local:MODEL`) or panel files, each audited on its own;
    a panel file's members are audited too, each before the panel."""
    pairs: str
    out: Path
    template: str = "pairwise-v1"
    limit: int | None = None
    judge_base_url: str | None = None
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    min_verdict_mass: float = 0.5
    """Log-probability templates: least P(A) + P(B) a verdict may rest on."""
    self_preference: bool = True
    self_max_new_tokens: int = 128
    """Longest self-preference answer the judge model writes, in tokens."""
    reference_judge: str | None = None
    repeats: int = 2
    repeat_temperature: float = 1.0
    store: Path | None = None
    price: tuple[float, float] = (0.0, 0.0)
    command: str | None = None
    personas: str | None = None
    """A personas YAML file or `default`: also judge every pair per user profile."""
    persona_template: str = "pairwise-persona-v1"
    panel: bool = False
    """Also audit the `judges` together as one panel (after each on its own)."""
    panel_aggregate: str = "vote"


def audit_entries(config: AuditConfig) -> list[Member | PanelSpec]:
    """What gets audited, in order: every judge; a panel file's members and then the panel;
    with `panel`, all the judges as one panel last. Checked before any work."""
    from judges.panel.spec import Member, is_panel_file, load_panel_file, panel_spec

    entries: list[Member | PanelSpec] = []
    for spec in config.judges:
        if is_panel_file(spec):
            found = load_panel_file(Path(spec))
            entries.extend(m for m in found.members if m not in entries)
            entries.append(found)
        elif Member(spec) not in entries:
            entries.append(Member(spec))
    if config.panel:
        if any(is_panel_file(j) for j in config.judges):
            raise UserError(
                "--panel: give the panel's judges as --judge, or a panel file, not both"
            )
        together = panel_spec(list(config.judges), config.panel_aggregate)
        if together is None:
            raise UserError("--panel needs at least two --judge")
        entries.append(together)
    return entries


def entry_name(entry: Member | PanelSpec) -> str:
    """How an audited judge or panel is named in audit.json and items.jsonl."""
    from judges.panel.spec import PanelSpec

    return entry.name if isinstance(entry, PanelSpec) else entry.judge


def _self_answers(
    spec: str,
    endpoint: Endpoint,
    prompts: list[str],
    max_new_tokens: int,
    store: ResultsStore,
    progress: Progress,
) -> list[str]:
    """The judge model's own answers to the prompts (cached like any generation)."""
    kind, _, model = spec.partition(":")
    client = endpoint.client
    engine = create_engine(
        "openai" if kind == "openai" else "transformers",
        EngineConfig(
            model=model,
            base_url=endpoint.base_url,
            timeout=client.timeout,
            max_retries=client.max_retries,
            concurrency=client.concurrency,
        ),
    )
    suite = Suite(
        "audit-self", tuple(Sample(id=str(i), prompt=p) for i, p in enumerate(prompts)), "audit"
    )
    jobs = [(suite, s) for s in suite.samples]
    have, job_keys, _, _ = generate_stage(
        engine, store, jobs, GenerationParams(max_new_tokens=max_new_tokens), progress
    )
    answers = [have[keys[0]] for keys in job_keys]
    failed = sum(a.finish_reason == "error" for a in answers)
    if failed:
        raise UserError(f"{spec}: {failed} self-answer generation(s) failed; re-run to retry")
    return [a.text for a in answers]


def run_audit_judges(config: AuditConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Audit every judge in `config.judges`; returns the content of audit.json."""
    from judges.audit.pairs import load_pairs
    from judges.llm.template import load_template

    progress = progress or SilentProgress()
    if not config.judges:
        raise UserError("give at least one --judge")
    if config.repeats < 0:
        raise UserError("--repeats must be 0 or more")
    template = load_template(config.template)
    if template.config.kind != "pairwise":
        raise UserError(f"judge template '{template.name}' is not a pairwise template")
    entries = audit_entries(config)
    pairs = load_pairs(config.pairs, config.limit)
    check_out_dir(config.out)
    started = time.time()
    results: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    with ResultsStore(config.store or default_store_path()) as store:
        for entry in entries:
            result, items = _audit_one(
                config, _Judges(config, template, store), entry, pairs, progress
            )
            results.append(result)
            records.extend({"judge": entry_name(entry), **it.record()} for it in items)
    payload = {"judges": results, "manifest": _manifest(config, template.id, started)}
    _write(config.out, payload, records)
    return payload


@dataclass(frozen=True)
class _Judges:
    """Builds the audit's judges from their specs, all on one template, store and price."""

    config: AuditConfig
    template: Any
    store: ResultsStore

    def __call__(
        self,
        entry: Member | PanelSpec | str,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Any:
        from judges.llm.judge import Price, build_judge
        from judges.panel.panel import Panel
        from judges.panel.spec import Member, PanelSpec

        if isinstance(entry, PanelSpec):
            return Panel([self(m, temperature, seed) for m in entry.members], entry.aggregate)
        member = Member(entry) if isinstance(entry, str) else entry
        judge = build_judge(
            member.judge,
            self.template,
            self.store,
            Endpoint(member.base_url or self.config.judge_base_url, self.config.judge_client),
            price=Price(*(member.price or self.config.price)),
            temperature=temperature,
            seed=seed,
        )
        judge.min_verdict_mass = self.config.min_verdict_mass
        return judge


def _audit_one(
    config: AuditConfig,
    judge_for: _Judges,
    entry: Member | PanelSpec,
    pairs: Sequence[LabelledPair],
    progress: Progress,
) -> tuple[dict[str, Any], list[AuditItem]]:
    """Audit one judge or panel: its result for audit.json and its per-pair items."""
    from judges.audit.measures import measures, run_audit
    from judges.panel.panel import judges_asked
    from judges.panel.spec import PanelSpec

    judge = judge_for(entry)
    panel = isinstance(entry, PanelSpec)
    answers = None
    if config.self_preference and not isinstance(entry, PanelSpec):
        answers = _self_answers(
            entry.judge,
            Endpoint(entry.base_url or config.judge_base_url, config.judge_client),
            [p.prompt for p in pairs],
            config.self_max_new_tokens,
            judge_for.store,
            progress,
        )
    reference = judge_for(config.reference_judge) if config.reference_judge else None
    repeats = [
        judge_for(entry, config.repeat_temperature, seed=k + 1) for k in range(config.repeats)
    ]
    # Upper bound: both orders of the pair, its two perturbations, the self-answer pair,
    # and one order per repeat; a panel asks each member.
    size = judges_asked(judge)
    progress.start(f"audit {entry_name(entry)}", len(pairs) * (8 + config.repeats) * size)
    items = run_audit(
        judge,
        pairs,
        self_answers=answers,
        reference=reference,
        repeat_judges=repeats,
        on_done=progress.advance,
    )
    for r in repeats:  # repeated judging is part of what the audit cost
        judge.charge(r.stats)
    found = measures(items, judge)
    if panel and config.self_preference:
        for m in found:
            if m["measure"] in ("self_preference", "reference_prefers_judge_answer"):
                m["note"] = "not computed: a panel has no model of its own (see each member's)"
    persona_audit = None
    if config.personas is not None:
        persona_audit = _persona_audit(config, judge, judge_for.store, pairs, items, progress)
    result = {
        "judge": judge.describe(),
        "pairs": config.pairs,
        "n_pairs": len(pairs),
        "usage": judge.spent(),
        "measures": {m["measure"]: {k: v for k, v in m.items() if k != "measure"} for m in found},
        "personas": persona_audit,
    }
    if panel:
        result["panel"] = {
            **judge.summary([it.base for it in items]),
            "member_usage": judge.member_usage(),
        }
    return result, items


def _manifest(config: AuditConfig, template_id: str, started: float) -> dict[str, Any]:
    return job_manifest(
        config.command,
        started,
        template=template_id,
        pairs=config.pairs,
        limit=config.limit,
        reference_judge=config.reference_judge,
        repeats=config.repeats,
        repeat_temperature=config.repeat_temperature,
    )


def _write(out: Path, payload: dict[str, Any], records: Sequence[dict[str, Any]]) -> None:
    from reports.audit import render_audit_report

    write_text_atomic(out / "audit.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(
        out / "items.jsonl",
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
    )
    write_text_atomic(out / "report.html", render_audit_report(payload, records))


def _persona_audit(
    config: AuditConfig,
    base_judge: Any,
    store: ResultsStore,
    pairs: Sequence[LabelledPair],
    items: Sequence[AuditItem],
    progress: Progress,
) -> dict[str, Any]:
    """The pairs judged once per persona: how far verdicts move across personas, and each
    persona's agreement with the human labels and with the persona-free verdicts."""
    from judges.llm.template import load_template
    from judges.llm.verdicts import PairItem
    from judges.personas.personas import (
        agreement_with_humans,
        judge_for_personas,
        load_personas,
        persona_statistics,
    )

    personas = load_personas(config.personas or "default")
    judge = base_judge.with_template(load_template(config.persona_template))
    progress.start("audit personas", len(pairs) * 2 * len(personas))
    by_persona = judge_for_personas(
        judge,
        [PairItem(p.id, p.prompt, p.response_a, p.response_b) for p in pairs],
        personas,
        on_done=progress.advance,
    )
    return {
        "template": judge.template.id,
        "profiles": {p.name: p.profile for p in personas},
        "usage": judge.spent(),
        "human_agreement": agreement_with_humans(by_persona, [p.human for p in pairs]),
        **persona_statistics(
            {name: [r.preference for r in rs] for name, rs in by_persona.items()},
            [it.base.preference for it in items],
        ),
    }


__all__ = ["AuditConfig", "run_audit_judges"]
