"""`harness reproduce RUN_DIR --out NEW_DIR`: run a finished run again from its manifest,
with a fresh results store (so everything is generated and scored anew), and compare.

Greedy decoding on the same machine and library versions must give the same completions
and the same metrics; sampled runs are compared too (the seed is in the manifest). The
comparison is written to `NEW_DIR/reproduction.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.atomic import write_text_atomic
from harness.core.errors import UserError
from harness.core.paths import check_out_dir
from harness.core.progress import Progress
from harness.jobs.run import apply_limit, config_from_replay, run
from suites.suite import load_suites


@dataclass(frozen=True)
class Reproduction:
    completions: int
    identical_completions: int
    metrics: int
    identical_metrics: int
    differences: list[str]

    @property
    def exact(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "completions": self.completions,
            "identical_completions": self.identical_completions,
            "metrics": self.metrics,
            "identical_metrics": self.identical_metrics,
            "differences": self.differences[:50],
        }


def _read(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    summary_path = run_dir / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        items = [
            json.loads(line)
            for line in (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()
        ]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{run_dir}: not a finished run directory ({e})") from None
    if "config" not in summary.get("manifest", {}):
        raise UserError(f"{summary_path}: the manifest has no 'config' (made by an older version)")
    return summary, items


def reproduce(run_dir: Path, out: Path, progress: Progress | None = None) -> Reproduction:
    """Re-run `run_dir` into `out` with a fresh store and compare outputs and metrics."""
    summary, items = _read(run_dir)
    manifest = summary["manifest"]
    saved = manifest["config"]
    check_out_dir(out)
    suites = apply_limit(load_suites(saved["suites"]), saved["limit"])
    recorded = {s["name"]: s["digest"] for s in manifest["suites"]}
    for suite in suites:
        if recorded.get(suite.name) != suite.digest:
            raise UserError(
                f"suite {suite.name} changed since the run (digest {suite.digest[:12]}, "
                f"recorded {str(recorded.get(suite.name))[:12]}): cannot reproduce"
            )
    config = config_from_replay(
        saved,
        out=out,
        store=out / "reproduction-store.sqlite",
        command=f"harness reproduce {run_dir} --out {out}",
    )
    result = run(config, progress)
    found = compare(summary, items, out)
    if result.manifest["engine"] != manifest["engine"]:
        found.differences.insert(
            0, f"engine identity differs: {result.manifest['engine']} vs {manifest['engine']}"
        )
    for line in judge_identity_differences(
        manifest.get("judge_usage") or [], result.manifest.get("judge_usage") or []
    ):
        found.differences.insert(0, line)
    write_text_atomic(out / "reproduction.json", json.dumps(found.as_dict(), indent=2) + "\n")
    return found


def _served(usage: dict[str, Any]) -> set[str]:
    """The identities a judge's endpoint answered as (replies without one left out)."""
    from judges.llm.judge import served_identities

    return {name for name, _ in served_identities(usage.get("served") or [])}


def _members(usages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judges' usages with a panel's replaced by its members' (each answers as itself)."""
    return [m for u in usages for m in (u.get("members") or [u])]


def judge_identity_differences(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[str]:
    """A judge (by spec and template) whose endpoint answered as other models or system
    fingerprints in the reproduction than in the run."""
    old = {(u["judge"], u["template"]): _served(u) for u in _members(before)}
    out = []
    for u in _members(after):
        was = old.get((u["judge"], u["template"]))
        now = _served(u)
        if was and now and was != now:
            out.append(
                f"judge {u['judge']} answered as {', '.join(sorted(now))}; the run recorded "
                f"{', '.join(sorted(was))}"
            )
    return out


def compare(summary: dict[str, Any], items: list[dict[str, Any]], out: Path) -> Reproduction:
    """Completions (by suite, id and sample index) and metrics of `out` against the originals."""
    again_summary, again_items = _read(out)

    def key(r: dict[str, Any]) -> tuple[str, str, int]:
        return (r["suite"], r["id"], int(r.get("sample_index") or 0))

    before = {key(r): r for r in items}
    after = {key(r): r for r in again_items}
    differences = []
    same = 0
    for k in sorted(set(before) | set(after)):
        a, b = before.get(k), after.get(k)
        if a is None or b is None:
            differences.append(
                f"item {k}: only in {'the reproduction' if a is None else 'the run'}"
            )
        elif a["completion"] != b["completion"]:
            differences.append(f"item {k}: completion differs")
        else:
            same += 1

    def mkey(m: dict[str, Any]) -> tuple[str, str, str]:
        return (m["suite"], m["metric"], m.get("scorer") or "")

    old = {mkey(m): m for m in summary["metrics"]}
    new = {mkey(m): m for m in again_summary["metrics"]}
    same_metrics = 0
    for mk in sorted(set(old) | set(new)):
        a, b = old.get(mk), new.get(mk)
        fields = ("value", "ci_low", "ci_high", "n")
        if a is None or b is None:
            differences.append(
                f"metric {mk}: only in {'the reproduction' if a is None else 'the run'}"
            )
        elif any(a[f] != b[f] for f in fields):
            differences.append(
                f"metric {mk}: {a['value']} (n={a['n']}) became {b['value']} (n={b['n']})"
            )
        else:
            same_metrics += 1
    return Reproduction(len(before), same, len(old), same_metrics, differences)
