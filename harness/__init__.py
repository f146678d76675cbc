"""alignment-harness: evaluate and judge aligned language models.

The Python API (the same jobs and typed configs as the CLI; see harness/jobs/api.py):

    from harness import RunConfig, evaluate
    result = evaluate(RunConfig(model="smollm2", suites=("quick",), out=Path("runs/demo")))

Importing this package is cheap: the API and heavy libraries (torch, transformers, vLLM)
load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

API = (
    "AmplificationConfig",
    "AuditConfig",
    "AuditResult",
    "CanaryCheckConfig",
    "CanaryPinConfig",
    "CompareConfig",
    "CompareResult",
    "JudgeConfig",
    "JudgeOutcome",
    "RunConfig",
    "audit_judge",
    "bias_amplification",
    "canary_check",
    "canary_pin",
    "compare",
    "evaluate",
    "judge",
    "train",
    "train_persona_adapters",
)
"""Names `from harness import ...` gives, loaded from harness.jobs.api on first use."""

__all__ = [*API, "__version__"]


def __getattr__(name: str) -> Any:
    if name in API:
        from harness.jobs import api

        return getattr(api, name)
    raise AttributeError(f"module 'harness' has no attribute '{name}'")
