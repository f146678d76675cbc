"""A job's manifest: what was run and with what, stored beside its results so that a run can
be re-scored and reproduced. Every job builds its manifest here."""

from __future__ import annotations

import sys
import time
from typing import Any

from harness.core.versions import library_versions


def job_manifest(command: str | None, started: float, **fields: Any) -> dict[str, Any]:
    """The command line (as typed, else this process's), the job's own `fields`, the
    versions of what shapes results, and when the job started and finished."""
    return {
        "command": command or " ".join(sys.argv),
        **fields,
        "versions": library_versions(),
        "started": started,
        "finished": time.time(),
    }
