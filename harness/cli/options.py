"""Options shared by several commands, each defined once, and the parsing of list flags."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import typer

from harness.core.errors import UserError
from judges.llm.client import JudgeClient

STORE = typer.Option(help="Results store (default $HARNESS_HOME/results.sqlite).")

SCORER_JUDGE = typer.Option(
    help="Judge for judge-* scorers: openai:MODEL or local:MODEL; repeat for a panel, or give "
    "a panel file (panel.yaml)."
)

JUDGE_BASE_URL = typer.Option(help="Endpoint of an openai: judge.")

# The judge-client options, on every command that judges (judges/llm/client.py says why
# these defaults): each command takes all four and passes them to `judge_client`.
JUDGE_TIMEOUT = typer.Option(
    "--judge-timeout", min=0.001, help="Seconds to wait for one judge reply before retrying it."
)
JUDGE_MAX_RETRIES = typer.Option(
    "--judge-max-retries",
    min=0,
    help="Retries of a judge request on 429/5xx/timeouts/malformed replies (backoff with jitter).",
)
JUDGE_CONCURRENCY = typer.Option(
    "--judge-concurrency",
    min=1,
    help="Judge requests in flight at the start (halved when timeouts cluster).",
)
JUDGE_MAX_TOKENS = typer.Option(
    "--judge-max-tokens",
    min=1,
    help="Cap on judge output tokens (default: the template's); bounds a slow local judge.",
)
MIN_VERDICT_MASS = typer.Option(
    min=0.0,
    max=1.0,
    help="Log-probability templates: least P(A)+P(B) of the first reply token a verdict may "
    "rest on; below it the order is unparsed (0 accepts any).",
)
OUT = typer.Option(help="Output directory.")
ENGINE_OPTION = typer.Option(
    help="KEY=VALUE passed to the engine (e.g. vLLM's tensor_parallel_size=4). Repeatable."
)
SUITE_LIMIT = typer.Option(help="Only the first N items of each suite.")
BATCH_SIZE = typer.Option(help="Prompts per batch (local engines).")
GENERATION_ENGINE = typer.Option(help="Generation engine.")

PERSONAS = typer.Option(
    help="Also judge every pair per user profile: a personas YAML file, or 'default'."
)

PERSONA_TEMPLATE = typer.Option(help="Judge template with a {persona} placeholder.")

TOXICITY_MODEL = typer.Option(
    help="detoxify model for the toxicity scorer: minilm (offline, trained here, not "
    "detoxify's released model; default), original, unbiased, multilingual (detoxify's "
    "released weights, need the network), or a checkpoint path."
)

TOXICITY_CONFIG = typer.Option(
    help="Directory with the HF config and tokenizer, to load a detoxify checkpoint offline."
)


def judge_client(
    timeout: float, max_retries: int, concurrency: int, max_tokens: int | None
) -> JudgeClient:
    """The `JudgeClient` the four judge-client flags give."""
    return JudgeClient(
        timeout=timeout, max_retries=max_retries, concurrency=concurrency, max_tokens=max_tokens
    )


def split_values(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def engine_options(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` flags -> options, values read as YAML scalars (4 -> int, true -> bool)."""
    import yaml

    options: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UserError(f"--engine-option '{pair}': expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


def command_line() -> str:
    """The command as typed, for manifests (`harness ...`)."""
    return shlex.join(["harness", *sys.argv[1:]])


PANEL_AGGREGATE = typer.Option(
    help="How a judge panel (--judge given more than once) decides: 'vote' (majority; "
    "pointwise: median grade) or 'mean' (mean P(B wins) per order, or mean grade)."
)
CANARY = typer.Option(
    "--canary", help="A canary file (harness canary pin): check the judge against it alongside."
)
CANARY_SAMPLE = typer.Option(
    "--canary-sample", min=1, help="Check a seeded sample of this many canary pairs."
)
FAIL_ON_DRIFT = typer.Option(
    "--fail-on-drift", help="Exit 5 when the --canary check detects judge drift."
)
DRIFT_EXIT = 5
"""Exit status when a canary check detected drift and --fail-on-drift was given."""


def canary_outcome(result: dict[str, Any] | None, fail_on_drift: bool) -> None:
    """Say the canary's verdict on stdout; exit DRIFT_EXIT on drift with --fail-on-drift."""
    from harness.cli.app import stdout

    if not result:
        return
    stdout.print(f"Canary: {result['verdict']}", markup=False)
    if result.get("identity_note"):
        stdout.print(f"Canary: {result['identity_note']}", markup=False)
    if fail_on_drift and result["status"] == "drift":
        raise typer.Exit(DRIFT_EXIT)
