"""A suite is a named list of samples plus where it came from; `load_suite` resolves a spec.

Specs: a built-in name (`harmful-smoke`, `overrefusal-smoke`, `helpful-smoke`, or `quick` for
all three), a path to a native YAML/JSONL file, or `LOADER:SOURCE` for a real benchmark,
where LOADER is `xstest`, `hh-rlhf`, `alpaca-eval` or `gsm8k` and SOURCE a local file or a
hub id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import suites.loaders.alpaca_eval
import suites.loaders.gsm8k
import suites.loaders.hh_rlhf
import suites.loaders.xstest
from harness.core.errors import UserError
from harness.core.records import Sample
from harness.core.registry import lookup, names
from suites.native import load_native

BUILTIN = ("harmful-smoke", "overrefusal-smoke", "helpful-smoke")
BUILTIN_MATH = ("math-smoke",)
"""Built-in GSM8K-style problem sets (hand-written, with worked solutions)."""
COMPOSITES = {"quick": BUILTIN}


@dataclass(frozen=True)
class Suite:
    """A loaded suite."""

    name: str
    """Name used in results and reports."""
    samples: tuple[Sample, ...]
    """The items, in file order."""
    source: str
    """The spec it was loaded from."""

    @property
    def digest(self) -> str:
        """SHA-256 of the items' content, stored with results for reproducibility."""
        h = hashlib.sha256()
        for s in self.samples:
            h.update(json.dumps(s.model_dump(mode="json"), sort_keys=True).encode())
        return h.hexdigest()

    def record(self) -> dict[str, Any]:
        """What a manifest says of the suite: name, source, content digest and size."""
        return {
            "name": self.name,
            "source": self.source,
            "digest": self.digest,
            "n": len(self.samples),
        }


def builtin_path(name: str) -> Path:
    """Path of a built-in suite file."""
    return Path(str(resources.files("suites") / "builtin" / f"{name}.yaml"))


def load_suite(spec: str) -> Suite:
    """Load one suite (not a composite) from a spec."""
    if spec in BUILTIN:
        _, samples = load_native(builtin_path(spec))
        return Suite(spec, tuple(samples), spec)
    if spec in BUILTIN_MATH:
        _, samples = suites.loaders.gsm8k.load_gsm8k(str(builtin_path(spec).with_suffix(".jsonl")))
        return Suite(spec, tuple(samples), spec)
    if ":" in spec and not Path(spec).exists():
        loader_name, source = spec.split(":", 1)
        name, samples = lookup("suite_loader", loader_name)(source)
        return Suite(name, tuple(samples), spec)
    path = Path(spec)
    if path.suffix in {".yaml", ".yml", ".jsonl", ".gz"} or path.exists():
        name, samples = load_native(path)
        return Suite(name, tuple(samples), spec)
    known = ", ".join([*BUILTIN, *BUILTIN_MATH, *COMPOSITES])
    loaders = ", ".join(f"{n}:PATH" for n in names("suite_loader"))
    raise UserError(f"unknown suite '{spec}': use a built-in name ({known}), a file, or {loaders}")


def load_suites(specs: list[str]) -> list[Suite]:
    """Load several specs, expanding composites; two suites with one name are an error."""
    out: list[Suite] = []
    for spec in specs:
        for part in COMPOSITES.get(spec, (spec,)):
            out.append(load_suite(part))
    seen = [s.name for s in out]
    dupes = sorted({n for n in seen if seen.count(n) > 1})
    if dupes:
        raise UserError(f"suite name(s) given twice: {', '.join(dupes)}")
    return out
