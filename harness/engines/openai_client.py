"""Building `openai` clients the same way everywhere, and keeping the key out of messages.

The key comes from OPENAI_API_KEY, or from the file named by OPENAI_API_KEY_FILE (for
secret mounts; read here, at call time); a local endpoint given by base URL needs none.
Nothing returned or raised here contains the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.core.errors import MissingDependencyError, UserError

REQUEST_TIMEOUT = 600.0
"""Seconds to wait for one reply from an endpoint: the openai client's own default, so a
slow self-hosted model is waited for rather than asked again (engine and judge alike)."""
REQUEST_RETRIES = 3
"""Retries of 429/5xx/timeouts/dropped connections per request (engine and judge alike)."""


def make_client(
    base_url: str | None,
    *,
    timeout: float,
    max_retries: int,
    purpose: str,
    asynchronous: bool = False,
) -> Any:
    """An `openai.OpenAI` (or `AsyncOpenAI`) client for `base_url` (None: OpenAI itself)."""
    try:
        import openai
    except ImportError:
        raise MissingDependencyError("openai", purpose) from None
    key = api_key()
    if key is None and base_url is None:
        raise UserError(
            f"{purpose} needs OPENAI_API_KEY (or OPENAI_API_KEY_FILE), or a base URL for a "
            "local endpoint"
        )
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(api_key=key or "EMPTY", base_url=base_url, timeout=timeout, max_retries=max_retries)


def api_key() -> str | None:
    """OPENAI_API_KEY, else the first line of the file OPENAI_API_KEY_FILE names, else None."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return key
    path = os.environ.get("OPENAI_API_KEY_FILE")
    if not path:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(
            f"OPENAI_API_KEY_FILE {path}: cannot read the key file ({type(e).__name__})"
        ) from None
    found = lines[0].strip() if lines else ""
    if not found:
        raise UserError(f"OPENAI_API_KEY_FILE {path}: the key file is empty")
    return found


def redact(message: str) -> str:
    """`message` with the API key blanked out, should a server or library echo it back."""
    try:
        key = api_key()
    except UserError:
        key = None
    return message.replace(key, "***") if key else message
