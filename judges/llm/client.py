"""How every command that judges talks to its judge: one set of client settings.

`--judge-timeout`, `--judge-max-retries`, `--judge-concurrency` and `--judge-max-tokens` on
`judge`, `compare`, `audit-judge`, `process`, `run`, `score`, `train` and the pipeline
config all land here. The defaults suit a self-hosted judge as well as an API: the openai
client's own 600 s timeout (a 135M model on two CPU cores can take minutes for a long
reply), 3 retries with jittered exponential backoff, 8 requests in flight cut in half when
timeouts cluster (judges/llm/concurrency.py), and the template's own output length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from harness.engines.openai_client import REQUEST_RETRIES, REQUEST_TIMEOUT
from judges.llm.backends import RetryPolicy

DEFAULT_TIMEOUT = REQUEST_TIMEOUT
DEFAULT_MAX_RETRIES = REQUEST_RETRIES
DEFAULT_CONCURRENCY = 8


class JudgeClient(BaseModel):
    """Timeout, retries, requests in flight and an output-token cap for judge requests."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    """Seconds to wait for one reply before it counts as timed out (and is retried)."""
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0)
    """Retries of 429, 5xx, timeouts, dropped connections and malformed replies."""
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1)
    """Requests in flight at the start; halved when timeouts cluster, never raised above."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Cap on judge output tokens (None: the template's `max_tokens`). A lower cap bounds a
    slow local judge; it can cut off a reply before its verdict, which is then unparsed."""

    def retry(self) -> RetryPolicy:
        """The backoff policy these settings give."""
        return RetryPolicy(max_retries=self.max_retries, timeout=self.timeout)

    def capped(self, template_max_tokens: int) -> int:
        """Output tokens a request may ask for under this client's cap."""
        if self.max_tokens is None:
            return template_max_tokens
        return min(template_max_tokens, self.max_tokens)


@dataclass(frozen=True)
class Endpoint:
    """Where an `openai:` judge is asked (base URL, else OPENAI_BASE_URL) and how."""

    base_url: str | None = None
    client: JudgeClient = field(default_factory=JudgeClient)
