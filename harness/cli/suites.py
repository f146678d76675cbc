"""`harness suites list|check`: the built-in suites and loaders, and validating suite files."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli.app import stdout, suites_app, user_errors


@suites_app.command("list")
def suites_list() -> None:
    """List built-in suites and benchmark loaders."""
    from harness.core.registry import names
    from suites.suite import BUILTIN, BUILTIN_MATH, COMPOSITES

    for name in (*BUILTIN, *BUILTIN_MATH):
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
