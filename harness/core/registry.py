"""One registry for every extension point (engines, scorers, suites), keyed by kind and name.

Register a factory with `@register("engine", "transformers")`; look it up with
`lookup("engine", "transformers")`. A miss says which names exist and suggests the
closest one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from harness.core.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])

_REGISTRY: dict[str, dict[str, Callable[..., Any]]] = {}


def register(kind: str, name: str) -> Callable[[F], F]:
    """Register `factory` as `name` among the `kind`s."""

    def wrap(factory: F) -> F:
        entries = _REGISTRY.setdefault(kind, {})
        if name in entries and entries[name] is not factory:
            raise ValueError(f"{kind} '{name}' is registered twice")
        entries[name] = factory
        return factory

    return wrap


def names(kind: str) -> list[str]:
    """Registered names of one kind, sorted."""
    return sorted(_REGISTRY.get(kind, {}))


def lookup(kind: str, name: str) -> Callable[..., Any]:
    """The factory registered as `name`, or a UserError that suggests a close name."""
    entries = _REGISTRY.get(kind, {})
    if name in entries:
        return entries[name]
    close = difflib.get_close_matches(name, entries, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    known = ", ".join(sorted(entries)) or "none"
    raise UserError(f"unknown {kind} '{name}' (known: {known}).{hint}")
