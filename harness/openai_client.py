"""Building `openai` clients the same way everywhere, and keeping the key out of messages.

The key comes from OPENAI_API_KEY (read here, at call time); a local endpoint given by
base URL needs none. Nothing returned or raised here contains the key.
"""

from __future__ import annotations

import os
from typing import Any

from harness.errors import MissingDependencyError, UserError


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
    key = os.environ.get("OPENAI_API_KEY")
    if key is None and base_url is None:
        raise UserError(f"{purpose} needs OPENAI_API_KEY, or a base URL for a local endpoint")
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(api_key=key or "EMPTY", base_url=base_url, timeout=timeout, max_retries=max_retries)


def redact(message: str) -> str:
    """`message` with the API key blanked out, should a server or library echo it back."""
    key = os.environ.get("OPENAI_API_KEY")
    return message.replace(key, "***") if key else message
