"""Where the harness keeps its caches: `$HARNESS_HOME`, default `~/.cache/alignment-harness`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness.core.errors import UserError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
"""Shape of a hub id (`owner/name`), as opposed to a local path."""


def harness_home() -> Path:
    """Root of the model cache and the default results store (read at call time)."""
    env = os.environ.get("HARNESS_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "alignment-harness"


def default_store_path() -> Path:
    """The results store shared by all runs unless `--store` says otherwise."""
    return harness_home() / "results.sqlite"


def check_out_file(path: Path) -> None:
    """An output file's folder is created and writable and the path is not a folder, or a
    UserError saying which, before any expensive work."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a file name for the output")
    check_out_dir(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{path}: the output file is not writable")


def check_out_dir(out: Path) -> None:
    """Create the output directory, or a UserError saying why it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create the output directory ({e.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"{out}: the output directory is not writable")
