"""The main job: suites -> engine -> scorers -> results store -> output files.

Generation and scoring are separate stages that each read from and write to the store, so
an interrupted run resumes where it stopped and an identical re-run loads no model.
Output files are written atomically at the end, from the store's contents.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.manifest import job_manifest
from harness.core.paths import check_out_dir, default_store_path
from harness.core.progress import Progress, SilentProgress
from harness.core.records import (
    Completion,
    GenerationParams,
    ItemResult,
    Message,
    MetricValue,
    RunResult,
    Sample,
)
from harness.core.store import ResultsStore, content_key
from harness.engines.base import (
    Engine,
    EngineConfig,
    PromptTooLongError,
    StreamingEngine,
    release,
)
from harness.engines.factory import create_engine
from harness.engines.ray_engine import RayShardedEngine
from harness.jobs.run_outputs import write_outputs
from judges.base import ScoreInput, Scorer, ScorerContext
from judges.llm.client import JudgeClient
from judges.scorers.factory import create_scorer, lookup_scorer
from suites import Suite, load_suites

DEFAULT_SCORERS = ("refusal", "toxicity", "diversity")
"""The offline scorers: a run measures safety, over-refusal, toxicity and diversity."""


@dataclass(frozen=True)
class RunConfig:
    """Everything `harness run` needs; validated by `run` before any work starts."""

    model: str
    """Model spec (see `harness.engines.models.resolve_model`) or endpoint model name."""
    suites: tuple[str, ...]
    """Suite specs (see `suites.suite`)."""
    out: Path
    """Output directory for items.jsonl, summary.json and report.html."""
    engine: str = "transformers"
    """Registered engine name."""
    engine_config: dict[str, Any] = field(default_factory=dict)
    """Extra EngineConfig fields (device, dtype, batch_size, base_url, ...)."""
    params: GenerationParams = field(default_factory=GenerationParams)
    """Sampling parameters."""
    scorers: tuple[str, ...] = DEFAULT_SCORERS
    """Registered scorer names."""
    judge: str | None = None
    """Judge spec for judge-backed scorers (`openai:MODEL`, `local:MODEL`, or a panel file)."""
    panel: tuple[str, ...] = ()
    """More judges deciding with `judge` as a panel (judges/panel/)."""
    panel_aggregate: str = "vote"
    judge_base_url: str | None = None
    """Endpoint of an `openai:` judge."""
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    toxicity_model: str | None = None
    """detoxify model for the toxicity scorer (default: the offline `minilm`)."""
    toxicity_config: str | None = None
    """HF config + tokenizer directory for an offline detoxify checkpoint."""
    limit: int | None = None
    """Keep only the first N items of each suite."""
    store: Path | None = None
    """Results store path; default `$HARNESS_HOME/results.sqlite`."""
    replicas: int = 1
    """Engine replicas on Ray (data-parallel generation); 1 runs in this process."""
    ray_address: str | None = None
    """Ray cluster to join (`auto`, `ray://host:10001`); None starts a local one."""
    command: str | None = None
    """The command line, recorded in the manifest."""


def apply_limit(suites: list[Suite], limit: int | None) -> list[Suite]:
    """The first `limit` items of each suite."""
    if limit is None:
        return suites
    if limit < 1:
        raise UserError("--limit must be at least 1")
    return [Suite(s.name, s.samples[:limit], s.source) for s in suites]


def _plan(
    jobs: Sequence[tuple[Suite, Sample]], identity: dict[str, Any], sampling: dict[str, Any], n: int
) -> tuple[dict[str, list[Message]], dict[str, str], dict[str, list[str]], list[list[str]]]:
    """Each distinct chat once (by content), where it comes from, its `n` generation keys,
    and each job's keys."""
    job_keys: list[list[str]] = []
    chats: dict[str, list[Message]] = {}
    where: dict[str, str] = {}
    keys_by_chat: dict[str, list[str]] = {}
    for suite, sample in jobs:
        chat = sample.chat()
        dumped = [m.model_dump() for m in chat]
        ck = content_key(dumped)
        if ck not in keys_by_chat:
            chats[ck], where[ck] = chat, f"{suite.name}/{sample.id}"
            keys_by_chat[ck] = [
                content_key("generation", identity, sampling, dumped, i) for i in range(n)
            ]
        job_keys.append(keys_by_chat[ck])
    return chats, where, keys_by_chat, job_keys


def generate_stage(
    engine: Engine,
    store: ResultsStore,
    jobs: Sequence[tuple[Suite, Sample]],
    params: GenerationParams,
    progress: Progress,
) -> tuple[dict[str, Completion], list[list[str]], int, int]:
    """Fill the store with every missing completion.

    Returns the completions by key, each job's `params.n` keys, and how many completions
    were generated and how many came from the store. A prompt shared by several suites is
    generated once. Failed completions are returned but not stored, so a re-run retries them.
    """
    identity = engine.identity()
    sampling = params.model_dump(exclude={"n"})
    chats, where, keys_by_chat, job_keys = _plan(jobs, identity, sampling, params.n)
    have = store.get_generations([k for keys in keys_by_chat.values() for k in keys])
    cached = len(have)
    pending = [ck for ck, keys in keys_by_chat.items() if any(k not in have for k in keys)]
    pending.sort(key=lambda ck: -sum(len(m.content) for m in chats[ck]))
    progress.start("generate", len(pending) * params.n)

    def rows_of(ck: str, comps: list[Completion]) -> list[tuple[Any, ...]]:
        dumped = [m.model_dump() for m in chats[ck]]
        for i, c in enumerate(comps):
            have[keys_by_chat[ck][i]] = c
        return [
            (keys_by_chat[ck][i], identity, sampling, dumped, i, c) for i, c in enumerate(comps)
        ]

    for start in range(0, len(pending), engine.chunk_size):
        chunk = pending[start : start + engine.chunk_size]
        batch = [chats[ck] for ck in chunk]
        try:
            if isinstance(engine, StreamingEngine):  # stored as each answer arrives

                def keep(k: int, comps: list[Completion], chunk: list[str] = chunk) -> None:
                    store.put_generations(rows_of(chunk[k], comps))
                    progress.advance(params.n)

                engine.generate_each(batch, params, keep)
                continue
            outs = engine.generate(batch, params)
        except PromptTooLongError as e:
            raise UserError(f"{where[chunk[e.index]]}: {e}") from None
        store.put_generations(
            [row for ck, comps in zip(chunk, outs, strict=True) for row in rows_of(ck, comps)]
        )
        progress.advance(len(chunk) * params.n)
    return have, job_keys, len(pending) * params.n, cached


SCORE_CHUNK = 256
"""Items scored, then committed to the store, at a time: a kill loses at most one chunk."""


def score_stage(
    scorers: Sequence[Scorer],
    store: ResultsStore,
    items: list[ItemResult],
    progress: Progress | None = None,
) -> list[ItemResult]:
    """Score every successful completion with every scorer, through the store."""
    progress = progress or SilentProgress()
    scored = [dict(it.scores) for it in items]
    for scorer in scorers:
        spec = scorer.spec()
        todo = [i for i, it in enumerate(items) if it.completion.finish_reason != "error"]
        keys = {
            i: content_key(
                "score",
                spec,
                items[i].key,
                items[i].sample.model_dump(mode="json", exclude={"id", "metadata"}),
            )
            for i in todo
        }
        have = store.get_scores(list(keys.values()))
        missing = [i for i in todo if keys[i] not in have]
        if missing:
            progress.start(f"score {scorer.name}", len(missing))
        for start in range(0, len(missing), SCORE_CHUNK):
            chunk = missing[start : start + SCORE_CHUNK]
            fresh = scorer.score([ScoreInput(items[i].sample, items[i].completion) for i in chunk])
            store.put_scores((keys[i], s) for i, s in zip(chunk, fresh, strict=True))
            # read back: fresh and stored scores then serialise identically
            have.update(store.get_scores([keys[i] for i in chunk]))
            progress.advance(len(chunk))
        for i in todo:
            scored[i][scorer.name] = have[keys[i]]
    return [
        ItemResult(it.suite, it.sample, it.index, it.key, it.completion, s)
        for it, s in zip(items, scored, strict=True)
    ]


def aggregate(
    scorers: Sequence[Scorer],
    items: Sequence[ItemResult],
    suite_names: Sequence[str],
    store: ResultsStore | None = None,
) -> list[MetricValue]:
    """Each scorer's metrics per suite, and over all suites when there are several.
    Set-level (corpus) metrics are kept in the store under the scorer's spec and the exact
    answers they cover, so a re-run of the same run does not recompute them."""
    groups: list[tuple[str, list[ItemResult]]] = [
        (name, [it for it in items if it.suite == name]) for name in suite_names
    ]
    if len(suite_names) > 1:
        groups.append(("all", list(items)))
    metrics: list[MetricValue] = []
    for scorer in scorers:
        for name, group in groups:
            scored = [it for it in group if scorer.name in it.scores]
            metrics.extend(
                scorer.metrics(name, [(it.sample, it.scores[scorer.name]) for it in scored])
            )
            corpus = getattr(scorer, "corpus_metrics", None)
            if corpus is None:
                continue
            key = content_key(
                "corpus", scorer.spec(), name, [(it.key, it.sample.id) for it in scored]
            )
            found = store.get_corpus_metrics(key) if store is not None else None
            if found is None:
                found = corpus(name, [(it.sample, it.completion.text) for it in scored])
                if store is not None:
                    store.put_corpus_metrics(key, scorer.name, found)
            metrics.extend(found)
    return metrics


def training_manifest(model: str) -> dict[str, Any] | None:
    """What `harness train` recorded about a checkpoint directory (method, base model, data,
    steps, final metrics), so a run report says how the model under test was made."""
    path = Path(model).expanduser() / "manifest.json"
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: unreadable training manifest ({e})") from None
    keep = ("method", "base_model", "data", "steps", "final_metrics", "wall_seconds")
    return {k: found[k] for k in keep if k in found} if isinstance(found, dict) else None


_NOT_REPLAYED = ("out", "store", "command")
"""Where a run wrote and how it was invoked: a re-run chooses its own."""


def replay_config(config: RunConfig) -> dict[str, Any]:
    """The run's configuration as JSON, minus where it wrote: what `harness reproduce`
    needs to run it again (secrets never enter a RunConfig)."""
    found: dict[str, Any] = {}
    for f in fields(RunConfig):
        if f.name in _NOT_REPLAYED:
            continue
        value = getattr(config, f.name)
        if isinstance(value, GenerationParams | JudgeClient):
            value = value.model_dump()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        found[f.name] = value
    return found


def config_from_replay(saved: dict[str, Any], *, out: Path, store: Path, command: str) -> RunConfig:
    """The RunConfig that `replay_config` recorded, writing to `out` and `store`."""
    values = dict(saved)
    values["params"] = GenerationParams(**values["params"])
    if "judge_client" in values:  # absent from runs made before the judge-client options
        values["judge_client"] = JudgeClient(**values["judge_client"])
    for name in ("suites", "scorers", "panel"):  # panel: absent from runs made before panels
        if name in values:
            values[name] = tuple(values[name])
    return RunConfig(**values, out=out, store=store, command=command)


def make_engine(config: RunConfig) -> Engine:
    """The run's engine: in this process, or `replicas` copies of it on Ray."""
    engine_config = EngineConfig(model=config.model, **config.engine_config)
    if config.replicas == 1 and config.ray_address is None:
        return create_engine(config.engine, engine_config)
    return RayShardedEngine(config.engine, engine_config, config.replicas, config.ray_address)


def run(config: RunConfig, progress: Progress | None = None) -> RunResult:
    """Run the main job and write `items.jsonl`, `summary.json` and `report.html`."""
    progress = progress or SilentProgress()
    started = time.time()
    suites = apply_limit(load_suites(list(config.suites)), config.limit)
    for name in config.scorers:
        lookup_scorer(name)
    check_out_dir(config.out)
    engine = make_engine(config)
    jobs = [(s, sample) for s in suites for sample in s.samples]
    with ResultsStore(config.store or default_store_path()) as store:
        context = ScorerContext(
            judge=config.judge,
            panel=config.panel,
            panel_aggregate=config.panel_aggregate,
            judge_base_url=config.judge_base_url,
            judge_client=config.judge_client,
            store=store,
            toxicity_model=config.toxicity_model,
            toxicity_config=config.toxicity_config,
            device=str(config.engine_config.get("device") or "cpu"),
        )
        scorers = [create_scorer(name, context) for name in config.scorers]
        try:
            have, job_keys, generated, cached = generate_stage(
                engine, store, jobs, config.params, progress
            )
        finally:
            release(engine)  # the model is not needed for scoring (a local judge may load one)
        items = [
            ItemResult(suite.name, sample, i, key, have[key], {})
            for (suite, sample), keys in zip(jobs, job_keys, strict=True)
            for i, key in enumerate(keys)
        ]
        items = score_stage(scorers, store, items, progress)
        metrics = aggregate(scorers, items, [s.name for s in suites], store)
    failed = sum(it.completion.finish_reason == "error" for it in items)
    manifest = job_manifest(
        config.command,
        started,
        config=replay_config(config),
        model=config.model,
        engine=engine.identity(),
        params=config.params.model_dump(),
        suites=[s.record() for s in suites],
        scorers=[s.spec() for s in scorers],
        judge_usage=[u for u in (s.usage() for s in scorers) if u is not None],
        limit=config.limit,
        training=training_manifest(config.engine_config.get("adapter") or config.model),
    )
    result = RunResult(items, metrics, manifest, generated, cached, failed, config.out)
    write_outputs(result)
    return result
