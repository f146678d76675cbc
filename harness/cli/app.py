"""The `harness` typer app, its error handling (a UserError is one line on stderr, exit 2) and
global flags. Commands live one group per module beside this one."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from harness.core.errors import IncompleteWork, UserError

# Plain click help (rich_markup_mode=None): rich's help tables cut option names at 80
# columns ("--judge-concurre…"); click's formatter wraps and marks required options.
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Evaluate and judge aligned language models.",
)


suites_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="List and check prompt suites."
)
app.add_typer(suites_app, name="suites")

err = Console(stderr=True)
stdout = Console()


_state = {"debug": False}


F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn a UserError into one line on stderr and exit status 2 (traceback with --debug),
    and IncompleteWork (failed requests, a re-run retries them) into one line and status 3."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            if _state["debug"]:
                raise
            err.print(Text(f"error: {e}", style="red"), soft_wrap=True)
            raise typer.Exit(2) from None
        except IncompleteWork as e:
            err.print(Text(f"incomplete: {e}", style="red"), soft_wrap=True)
            raise typer.Exit(3) from None

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
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )
    for ours in ("harness", "suites", "judges", "reports", "trainers"):
        logging.getLogger(ours).setLevel(logging.DEBUG if verbose else logging.INFO)
