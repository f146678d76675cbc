"""The `harness` command line.

    harness run --model smollm2 --suite quick --out runs/demo

Exit status: 0 when the run is complete, 2 for bad input (one line on stderr naming the
file, line and field), 3 when some items failed (they are listed; re-run to retry them).
"""

from __future__ import annotations

import functools
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from harness.errors import UserError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Evaluate and judge aligned language models."
)
suites_app = typer.Typer(no_args_is_help=True, help="List and check prompt suites.")
app.add_typer(suites_app, name="suites")

err = Console(stderr=True)
stdout = Console()
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn a UserError into one line on stderr and exit status 2 (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            if _state["debug"]:
                raise
            err.print(Text(f"error: {e}", style="red"), soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for input errors.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Evaluate and judge aligned language models."""
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )
    for noisy in ("httpx", "httpcore", "openai", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- items/s" if speed is None else f"{speed:.2f} items/s", style="cyan")


class BarProgress:
    """Rich progress bar with count, rate and ETA."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: Any = None

    def __enter__(self) -> BarProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.__exit__(*exc)

    def start(self, stage: str, total: int) -> None:
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, done: int) -> None:
        self._bar.advance(self._task, done)


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@app.command()
@user_errors
def run(
    model: Annotated[
        str,
        typer.Option(
            help="'smollm2' (embedded), a model directory, a hub id, or the endpoint's model name."
        ),
    ],
    suite: Annotated[
        list[str], typer.Option(help="Suite: built-in name, file, or LOADER:SOURCE. Repeatable.")
    ],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    engine: Annotated[str, typer.Option(help="transformers, openai or vllm.")] = "transformers",
    limit: Annotated[int | None, typer.Option(help="Only the first N items of each suite.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Longest completion, in tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    n: Annotated[int, typer.Option(help="Completions per prompt.")] = 1,
    scorers: Annotated[
        list[str] | None, typer.Option("--scorers", help="Scorers, comma-separated or repeated.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Prompts per batch (local engines).")] = 16,
    device: Annotated[str, typer.Option(help="Torch device for local engines.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Weights dtype for local engines.")] = "float32",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint (else OPENAI_BASE_URL).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight (openai engine).")] = 8,
    store: Annotated[
        Path | None, typer.Option(help="Results store (default $HARNESS_HOME/results.sqlite).")
    ] = None,
) -> None:
    """Generate completions for suites, score them, and write items.jsonl, summary.json and report.html."""
    from pydantic import ValidationError

    from harness.records import GenerationParams
    from harness.runner import RunConfig
    from harness.runner import run as run_job

    try:
        params = GenerationParams(
            temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed, n=n
        )
    except ValidationError as e:
        first = e.errors()[0]
        raise UserError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    config = RunConfig(
        model=model,
        suites=tuple(suite),
        out=out,
        engine=engine,
        engine_config={
            "device": device,
            "dtype": dtype,
            "batch_size": batch_size,
            "base_url": base_url,
            "concurrency": concurrency,
        },
        params=params,
        scorers=_split(scorers or ["refusal"]),
        limit=limit,
        store=store,
        command=shlex.join(["harness", *sys.argv[1:]]),
    )
    with BarProgress(err) as progress:
        result = run_job(config, progress)
    table = Table(title=f"{model} on {', '.join(s['name'] for s in result.manifest['suites'])}")
    for col in ("suite", "metric", "value", "95% CI", "n"):
        table.add_column(col)
    for m in result.metrics:
        table.add_row(
            m.suite, m.metric, f"{m.value:.3f}", f"[{m.ci_low:.3f}, {m.ci_high:.3f}]", str(m.n)
        )
    stdout.print(table)
    stdout.print(
        f"{len(result.items)} items ({result.generated} generated, {result.cached} from the store, "
        f"{result.failed} failed). Report: {result.out / 'report.html'}"
    )
    if result.failed:
        for it in result.items:
            if it.completion.error:
                err.print(f"failed: {it.suite}/{it.sample.id}: {it.completion.error}", markup=False)
        raise typer.Exit(3)


@suites_app.command("list")
def suites_list() -> None:
    """List built-in suites and benchmark loaders."""
    from harness.registry import names
    from suites.suite import BUILTIN, COMPOSITES

    for name in BUILTIN:
        stdout.print(name)
    for name, parts in COMPOSITES.items():
        stdout.print(f"{name} = {' + '.join(parts)}")
    for name in names("suite_loader"):
        stdout.print(f"{name}:PATH_OR_HUB_ID")


@suites_app.command("check")
@user_errors
def suites_check(
    specs: Annotated[list[str], typer.Argument(help="Suite specs to load and validate.")],
) -> None:
    """Load suites and report their sizes; bad input gives one line naming file, line and field."""
    from suites import load_suites

    for s in load_suites(specs):
        refuse = sum(1 for x in s.samples if x.should_refuse)
        stdout.print(
            f"{s.name}: {len(s.samples)} items ({refuse} should_refuse), digest {s.digest[:12]}"
        )
