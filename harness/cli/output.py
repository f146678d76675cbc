"""Printing results on the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from harness.cli.app import stdout
from harness.core.records import MetricValue


def metrics_table(title: str, metrics: Sequence[MetricValue]) -> None:
    table = Table(title=title)
    for col in ("suite", "scorer", "metric", "value", "95% CI", "n"):
        table.add_column(col, overflow="fold")  # wrap long names, never cut them
    for m in metrics:
        table.add_row(
            m.suite,
            m.scorer or "",
            m.metric,
            f"{m.value:.3f}",
            f"[{m.ci_low:.3f}, {m.ci_high:.3f}]"
            if m.ci_low is not None and m.ci_high is not None
            else f"none: {m.note or 'no interval'}",
            str(m.n),
        )
    stdout.print(table)
