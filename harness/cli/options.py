"""Options shared by several commands, each defined once, and the parsing of list flags."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import typer

from harness.core.errors import UserError

STORE = typer.Option(help="Results store (default $HARNESS_HOME/results.sqlite).")

SCORER_JUDGE = typer.Option(help="Judge for judge-* scorers: openai:MODEL or local:MODEL.")

JUDGE_BASE_URL = typer.Option(help="Endpoint of an openai: judge.")
JUDGE_CONCURRENCY = typer.Option(help="Judge requests in flight.")
MIN_VERDICT_MASS = typer.Option(
    min=0.0,
    max=1.0,
    help="Log-probability templates: least P(A)+P(B) of the first reply token a verdict may "
    "rest on; below it the order is unparsed (0 accepts any)."
)
OUT = typer.Option(help="Output directory.")
SUITE_LIMIT = typer.Option(help="Only the first N items of each suite.")
BATCH_SIZE = typer.Option(help="Prompts per batch (local engines).")
GENERATION_ENGINE = typer.Option(help="Generation engine.")

PERSONAS = typer.Option(
    help="Also judge every pair per user profile: a personas YAML file, or 'default'."
)

PERSONA_TEMPLATE = typer.Option(help="Judge template with a {persona} placeholder.")

TOXICITY_MODEL = typer.Option(
    help="detoxify model for the toxicity scorer: small (offline stand-in, default), original, "
    "unbiased, multilingual, or a checkpoint path."
)

TOXICITY_CONFIG = typer.Option(
    help="Directory with the HF config and tokenizer, to load a detoxify checkpoint offline."
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
