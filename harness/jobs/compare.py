"""`harness compare`: generate with several models, judge them pairwise, report win rates.

    harness compare --model base=smollm2 --model hot=smollm2@temperature=1.0 \\
        --baseline base --suite helpful-smoke --judge local:smollm2 --out runs/cmp

A model entry is `[LABEL=]SPEC[@key=value,...]`: the label names it in the report, SPEC is
any `--model` the engine takes, and `@` overrides sampling (temperature, top_p, seed,
max_new_tokens) for that entry, so one model at two temperatures is two entries.
`outputs:PATH` takes stored outputs (AlpacaEval's model_outputs.json) instead of generating.
Generations and judgments go through the results store (a re-run costs nothing). Every
other model is judged against the baseline with position swap (or every pair with
`all_pairs`); the outputs are `winrates.json`, `summary.md`, `judgments.jsonl` and
`report.html`. Each model's answers also go through the run's scorers (refusal, toxicity,
diversity by default; `scorers=()` for none), for the scorecard. With `personas`, every pair is also judged once per user profile
(judges/personas/): per-persona win rates and how far verdicts move between personas go
into winrates.json ("personas"), the report and `personas.jsonl`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.manifest import job_manifest
from harness.core.paths import check_out_dir, default_store_path
from harness.core.progress import Progress, SilentProgress
from harness.core.records import GenerationParams, ItemResult, Sample
from harness.core.store import ResultsStore
from harness.engines.base import EngineConfig, release
from harness.engines.factory import create_engine
from harness.jobs.run import (
    DEFAULT_SCORERS,
    aggregate,
    apply_limit,
    generate_stage,
    score_stage,
    training_manifest,
)
from judges.base import ScorerContext
from judges.llm.client import Endpoint, JudgeClient
from judges.scorers.factory import create_scorer, lookup_scorer
from suites import Suite, load_suites

OVERRIDABLE = {"temperature": float, "top_p": float, "seed": int, "max_new_tokens": int}


@dataclass(frozen=True)
class ModelEntry:
    """One contestant: a label, the model spec, and its sampling parameters."""

    label: str
    spec: str
    params: GenerationParams
    adapter: str | None = None
    """A LoRA adapter directory applied on `spec` without merging."""


def parse_model_entry(text: str, defaults: GenerationParams) -> ModelEntry:
    """`[LABEL=]SPEC[@key=value,...]` -> ModelEntry (errors say which part is wrong)."""
    label, _, rest = text.partition("=") if "=" in text.split("@", 1)[0] else ("", "", text)
    spec, _, overrides = rest.partition("@")
    if not spec:
        raise UserError(f"--model '{text}': no model spec")
    values: dict[str, Any] = {}
    for part in filter(None, overrides.split(",")):
        key, eq, value = part.partition("=")
        if not eq or key not in OVERRIDABLE:
            raise UserError(
                f"--model '{text}': '{part}' is not one of {', '.join(OVERRIDABLE)}=VALUE"
            )
        try:
            values[key] = OVERRIDABLE[key](value)
        except ValueError:
            raise UserError(f"--model '{text}': {key} must be a number, got '{value}'") from None
    return ModelEntry(label or text, spec, defaults.model_copy(update=values))


@dataclass(frozen=True)
class CompareConfig:
    """Everything `harness compare` needs."""

    models: tuple[str, ...]
    baseline: str
    suites: tuple[str, ...]
    judge: str
    out: Path
    template: str = "pairwise-v1"
    all_pairs: bool = False
    inconsistent: str = "tie"
    engine: str = "transformers"
    engine_config: dict[str, Any] = field(default_factory=dict)
    params: GenerationParams = field(default_factory=GenerationParams)
    judge_base_url: str | None = None
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    min_verdict_mass: float = 0.5
    """Log-probability templates: least P(A) + P(B) a verdict may rest on."""
    limit: int | None = None
    store: Path | None = None
    n_bootstrap: int = 1000
    command: str | None = None
    personas: str | None = None
    """A personas YAML file or `default`: also judge every pair once per user profile."""
    persona_template: str = "pairwise-persona-v1"
    scorers: tuple[str, ...] = DEFAULT_SCORERS
    """Scorers run on every model's answers, for the scorecard (as in `harness run`)."""
    toxicity_model: str | None = None
    toxicity_config: str | None = None
    canary: Path | None = None
    """A canary file (`harness canary pin`) checked alongside with the same judge (with a
    panel: the member it was pinned for)."""
    canary_sample: int | None = None
    canary_seed: int = 0
    panel: tuple[str, ...] = ()
    """More judges deciding with `judge` as a panel (judges/panel/); `judge` may also name a
    panel file."""
    panel_aggregate: str = "vote"
    """How a panel decides each order: majority (`vote`) or mean P(B wins) (`mean`)."""
    adapters: tuple[str, ...] = ()
    """`NAME=DIR`: more contestants, each the first model with a LoRA adapter applied
    (unmerged), labelled NAME."""


def parse_adapters(adapters: Sequence[str], first: ModelEntry) -> list[ModelEntry]:
    """`NAME=DIR` -> contestants: the first `--model` entry with the adapter applied."""
    out = []
    for text in adapters:
        name, eq, path = text.partition("=")
        if not eq or not name or not path:
            raise UserError(f"--adapter '{text}': give NAME=DIR")
        if first.spec.startswith("outputs:"):
            raise UserError(f"--adapter '{text}': the first --model must be a model, not outputs")
        if not (Path(path).expanduser() / "adapter_config.json").is_file():
            raise UserError(f"--adapter '{text}': {path} has no adapter_config.json")
        out.append(ModelEntry(name, first.spec, first.params, path))
    return out


def run_compare(config: CompareConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Generate, judge and write the comparison; returns the winrates.json content."""
    from harness.jobs.compare_outputs import write_compare_outputs
    from harness.stats.comparison import compare_statistics

    progress = progress or SilentProgress()
    started = time.time()
    entries, template = _checked(config)
    labels = [e.label for e in entries]
    suites = apply_limit(load_suites(list(config.suites)), config.limit)
    check_out_dir(config.out)
    jobs = [(s, sample) for s in suites for sample in s.samples]
    with ResultsStore(config.store or default_store_path()) as store:
        answers, identities = _generate(config, entries, jobs, store, progress)
        outputs = {label: [it.completion.text for it in its] for label, its in answers.items()}
        truncated = {
            label: [it.completion.finish_reason == "length" for it in its]
            for label, its in answers.items()
        }
        scorecard, scorer_specs = _score(config, answers, [s.name for s in suites], store, progress)
        items, meta = _pair_items(config, labels, jobs, outputs)
        judged = _judge(config, template, store, items, meta, progress)
    stats = compare_statistics(
        labels, config.baseline, meta, judged.results, outputs, config.n_bootstrap
    )
    stats["scorecard"] = scorecard
    if judged.panel is not None:
        stats["panel"] = _panel_statistics(config, judged, labels, meta, outputs)
    if config.canary is not None:
        from harness.jobs.canary import check_alongside

        stats["canary"] = check_alongside(config, progress, panel_spec(config))
    if judged.persona_stats is not None:
        stats["personas"] = judged.persona_stats
        write_text_atomic(
            config.out / "personas.jsonl",
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judged.persona_rows),
        )
    manifest = job_manifest(
        config.command,
        started,
        models=identities,
        training={
            e.label: t
            for e in entries
            if not e.spec.startswith("outputs:")
            and (t := training_manifest(e.adapter or e.spec)) is not None
        },
        baseline=config.baseline,
        suites=[s.record() for s in suites],
        judge=judged.judge.describe(),
        judge_usage=judged.usage,
        scorers=scorer_specs,
        position_swap=True,
        inconsistent=config.inconsistent,
    )
    return write_compare_outputs(
        config.out, stats, manifest, meta, judged.results, jobs, outputs, truncated
    )


def _checked(config: CompareConfig) -> tuple[list[ModelEntry], Any]:
    """The model entries and the judge template, or a UserError before any work starts."""
    from judges.llm.position_swap import inconsistent_policy
    from judges.llm.template import load_template

    entries = [parse_model_entry(m, config.params) for m in config.models]
    if config.adapters:
        entries += parse_adapters(config.adapters, entries[0])
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels):
        raise UserError(f"two --model entries share a label: {', '.join(labels)} (use LABEL=SPEC)")
    if len(entries) < 2:
        raise UserError("compare needs at least two --model entries")
    if config.baseline not in labels:
        raise UserError(
            f"--baseline '{config.baseline}' is not one of the models ({', '.join(labels)})"
        )
    inconsistent_policy(config.inconsistent)
    for name in config.scorers:
        lookup_scorer(name)
    panel = panel_spec(config)
    if config.canary is not None:
        from harness.jobs.canary import canary_member, load_canary

        load_canary(config.canary)
        canary_member(config, panel)
    template = load_template(config.template)
    if template.config.kind != "pairwise":
        raise UserError(f"judge template '{template.name}' is not a pairwise template")
    return entries, template


def _generate(
    config: CompareConfig,
    entries: Sequence[ModelEntry],
    jobs: Sequence[tuple[Suite, Sample]],
    store: ResultsStore,
    progress: Progress,
) -> tuple[dict[str, list[ItemResult]], dict[str, Any]]:
    """Each model's first completion per prompt, and each model's engine identity.

    Entries sharing an engine (one model at two temperatures) are generated one after the
    other, and each engine's model is freed once its last entry is done: one model is
    loaded at a time, as a GPU running vLLM needs (each `vllm.LLM` takes most of it).
    """
    groups: dict[str, list[ModelEntry]] = {}
    for entry in entries:
        groups.setdefault(f"{entry.spec}+{entry.adapter}", []).append(entry)
    answers: dict[str, list[ItemResult]] = {}
    identities: dict[str, Any] = {}
    for group in groups.values():
        spec, adapter = group[0].spec, group[0].adapter
        engine = create_engine(
            "outputs" if spec.startswith("outputs:") else config.engine,
            EngineConfig(model=spec, adapter=adapter, **config.engine_config),
        )
        try:
            for entry in group:
                identities[entry.label] = {
                    **engine.identity(),
                    "params": entry.params.model_dump(),
                }
                have, job_keys, _, _ = generate_stage(
                    engine, store, jobs, replace_n(entry.params), progress
                )
                failed = [
                    f"{s.name}/{smp.id}"
                    for (s, smp), keys in zip(jobs, job_keys, strict=True)
                    if have[keys[0]].finish_reason == "error"
                ]
                if failed:
                    raise UserError(
                        f"{entry.label}: generation failed for {len(failed)} item(s), "
                        f"e.g. {failed[0]}; re-run to retry"
                    )
                answers[entry.label] = [
                    ItemResult(suite.name, sample, 0, keys[0], have[keys[0]], {})
                    for (suite, sample), keys in zip(jobs, job_keys, strict=True)
                ]
        finally:
            release(engine)
    labels = [e.label for e in entries]  # the report's order, not the generation order
    return {k: answers[k] for k in labels}, {k: identities[k] for k in labels}


def _score(
    config: CompareConfig,
    answers: dict[str, list[ItemResult]],
    suite_names: list[str],
    store: ResultsStore,
    progress: Progress,
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Every model's answers through the scorers (through the store, like `harness run`):
    each model's metrics, and the scorers' specs for the manifest."""
    context = ScorerContext(
        judge=config.judge,
        panel=config.panel,
        panel_aggregate=config.panel_aggregate,
        judge_base_url=config.judge_base_url,
        judge_client=config.judge_client,
        store=store,
        toxicity_model=config.toxicity_model,
        toxicity_config=config.toxicity_config,
    )
    scorers = [create_scorer(name, context) for name in config.scorers]
    metrics = {}
    for label, items in answers.items():
        scored = score_stage(scorers, store, items, progress)
        metrics[label] = [m.model_dump() for m in aggregate(scorers, scored, suite_names, store)]
    return metrics, [s.spec() for s in scorers]


def _pair_items(
    config: CompareConfig,
    labels: Sequence[str],
    jobs: Sequence[tuple[Suite, Sample]],
    outputs: dict[str, list[str]],
) -> tuple[list[Any], list[dict[str, Any]]]:
    """The pairs to judge (against the baseline, or all pairs) and what each one is."""
    from judges.llm.verdicts import PairItem

    pairs = (
        [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]
        if config.all_pairs
        else [(config.baseline, m) for m in labels if m != config.baseline]
    )
    items, meta = [], []
    for a, b in pairs:
        for k, (suite, sample) in enumerate(jobs):
            items.append(
                PairItem(
                    f"{a}|{b}|{suite.name}/{sample.id}",
                    sample.prompt_text(),
                    outputs[a][k],
                    outputs[b][k],
                    sample.reference,
                )
            )
            meta.append(
                {
                    "model_a": a,
                    "model_b": b,
                    "suite": suite.name,
                    "id": sample.id,
                    "category": sample.category,
                    "prompt_index": k,
                }
            )
    return items, meta


def panel_spec(config: CompareConfig) -> Any:
    """The panel the `--judge` values name (a `judges.panel.spec.PanelSpec`), or None."""
    from judges.panel.spec import panel_spec as spec_of

    return spec_of([config.judge, *config.panel], config.panel_aggregate)


@dataclass
class _Judged:
    """The pairwise verdicts, the judge (or panel), its usage, and the per-persona ones."""

    judge: Any
    results: list[Any]
    usage: list[dict[str, Any] | None]
    persona_stats: dict[str, Any] | None = None
    persona_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def panel(self) -> Any:
        """The panel that judged (judges.panel.panel.Panel), or None for one judge."""
        from judges.panel.panel import Panel

        return self.judge if isinstance(self.judge, Panel) else None


def _panel_statistics(
    config: CompareConfig,
    judged: _Judged,
    labels: list[str],
    meta: list[dict[str, Any]],
    outputs: dict[str, list[str]],
) -> dict[str, Any]:
    """Each member's own win rates against the baseline, how often the members split and how
    far every two agree; the panel's own win rates are the comparison's."""
    from harness.stats.comparison import win_rate_rows

    panel = judged.panel
    keep = ("model", "win_rate", "win_rate_ci", "n_total", "judge_consistency")
    member_rows = {
        name: [
            {k: row.get(k) for k in keep}
            for row in win_rate_rows(
                labels, config.baseline, meta, [r.members[m] for r in judged.results], outputs
            )
        ]
        for m, name in enumerate(panel.names)
    }
    return {**panel.summary(judged.results), "member_win_rates": member_rows}


def _judge(
    config: CompareConfig,
    template: Any,
    store: ResultsStore,
    items: list[Any],
    meta: list[dict[str, Any]],
    progress: Progress,
) -> _Judged:
    """Judge every pair in both orders (and once per persona with `config.personas`)."""
    from judges.llm.position_swap import inconsistent_policy
    from judges.llm.template import load_template
    from judges.panel.panel import Panel, judges_asked, pairwise
    from judges.panel.spec import build_any_judge

    judge = build_any_judge(
        [config.judge, *config.panel],
        template,
        store,
        Endpoint(config.judge_base_url, config.judge_client),
        aggregate=config.panel_aggregate,
        min_verdict_mass=config.min_verdict_mass,
    )
    progress.start("judge", len(items) * 2 * judges_asked(judge))
    results = pairwise(
        judge,
        items,
        inconsistent=inconsistent_policy(config.inconsistent),
        on_done=progress.advance,
    )
    # A panel's spending is listed per member (each answers as its own model).
    usage = list(judge.member_usage().values()) if isinstance(judge, Panel) else [judge.usage()]
    judged = _Judged(judge, results, list(usage))
    if config.personas is not None:
        persona_judge = judge.with_template(load_template(config.persona_template))
        judged.persona_stats, judged.persona_rows = _judge_personas(
            config.personas, persona_judge, items, meta, results, progress, config.baseline
        )
        judged.usage.append(persona_judge.usage())
    return judged


def _judge_personas(
    source: str,
    judge: Any,
    items: list[Any],
    meta: list[dict[str, Any]],
    general: list[Any],
    progress: Progress,
    baseline: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Per-persona judgments of the same pairs: statistics per compared pair of models, and
    one row per (persona, pair) for personas.jsonl; with models named after personas (their
    adapters), how each fares under every persona (judges/personas/adapter_fit.py)."""
    from dataclasses import asdict

    from judges.personas.adapter_fit import adapter_fit
    from judges.personas.personas import judge_for_personas, load_personas, persona_statistics

    personas = load_personas(source)
    progress.start("judge personas", len(items) * 2 * len(personas))
    by_persona = judge_for_personas(judge, items, personas, on_done=progress.advance)
    comparisons = []
    for a, b in dict.fromkeys((m["model_a"], m["model_b"]) for m in meta):
        rows = [i for i, m in enumerate(meta) if (m["model_a"], m["model_b"]) == (a, b)]
        comparisons.append(
            {
                "model_a": a,
                "model_b": b,
                **persona_statistics(
                    {p: [by_persona[p][i].preference for i in rows] for p in by_persona},
                    [general[i].preference for i in rows],
                ),
            }
        )
    out_rows = [
        {
            "persona": p,
            **{k: meta[i][k] for k in ("model_a", "model_b", "suite", "id")},
            "verdict": r.verdict,
            "preference": r.preference,
            "status": r.status,
            "raw": [o.raw for o in r.orders],
            **({"members": [asdict(m) for m in r.members]} if r.members else {}),
        }
        for p, results in by_persona.items()
        for i, r in enumerate(results)
    ]
    against_baseline: dict[str, dict[str, list[float | None]]] = {}
    for i, m in enumerate(meta):
        if m["model_a"] == baseline:
            row = against_baseline.setdefault(m["model_b"], {p: [] for p in by_persona})
            for p in by_persona:
                row[p].append(by_persona[p][i].preference)
    stats = {
        "template": judge.template.id,
        "profiles": {p.name: p.profile for p in personas},
        "comparisons": comparisons,
        "adapter_fit": adapter_fit(against_baseline),
    }
    return stats, out_rows


def replace_n(params: GenerationParams) -> GenerationParams:
    """Comparisons use one completion per prompt."""
    return params if params.n == 1 else params.model_copy(update={"n": 1})


__all__ = ["CompareConfig", "ModelEntry", "parse_model_entry", "run_compare"]
