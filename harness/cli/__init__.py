"""The `harness` command line.

    harness run --model smollm2 --suite quick --out runs/demo

Exit status: 0 when the run is complete, 2 for bad input (one line on stderr naming the
file, line and field), 3 when some items failed (they are listed; re-run to retry them), 5
when a canary check detected judge drift and --fail-on-drift was given.
Each command parses its flags into its job's config and calls the job (harness/jobs/).
"""

from importlib import import_module

from harness.cli.app import app

COMMANDS = tuple(
    import_module(f"harness.cli.{name}")
    for name in (  # the order `harness --help` lists them in
        *("run", "suites", "train", "score", "judge", "serve", "winrate", "compare"),
        *("export", "audit", "dpo_shift", "bias_amplification", "process", "canary"),
    )
)
"""The modules whose import registers the commands on `app`."""

__all__ = ["app"]
