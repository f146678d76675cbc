"""Banners: what a reader must not miss, stated above a report and on the terminal.

A small sample, failed items, which model scored toxicity (`run_banners`, and for several
models `card_banners` and `scorer_banners`); a judge that is
unreliable: its two orders agree on under 70% of pairs, under 90% of its replies carry a
verdict, or it gives over 80% of its decisive verdicts to the first slot
(`judge_banners`), each with its CI and n.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.stats.intervals import FEW
from judges.llm.judge import served_identities
from reports.scorecard import headline

CONSISTENCY = 0.7
PARSE = 0.9
FIRST_SLOT = 0.8


def run_banners(summary: dict[str, Any]) -> list[str]:
    """Warnings for the top of a run report and the terminal."""
    out = []
    small = [m for m in headline(summary["metrics"]) if m["n"] < FEW]
    if small:
        names = ", ".join(f"{m['label']} (n = {m['n']})" for m in small)
        out.append(
            f"Small sample: {names}. Under {FEW} items the intervals are wide and differences "
            "between models cannot be told apart."
        )
    failed = summary.get("counts", {}).get("failed", 0)
    if failed:
        out.append(
            f"{failed} item(s) failed to generate and are in no metric; re-run to retry them."
        )
    out += scorer_banners(summary.get("manifest", {}).get("scorers", []))
    out += served_banners(summary.get("manifest", {}).get("judge_usage") or [])
    return out


def scorer_banners(scorers: list[dict[str, Any]]) -> list[str]:
    """Which model scored toxicity (the shipped stand-in is not detoxify's released model)."""
    return [
        f"Toxicity scores come from {s['model']}."
        for s in scorers
        if s.get("kind") == "detoxify" and s.get("model")
    ]


def card_banners(card: dict[str, Any]) -> list[str]:
    """Small samples in a scorecard of several models, in one line: the measures whose
    small n falls on the same models are named together."""
    groups: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for name, label, _ in card["columns"]:
        few = tuple(
            (row["model"], row["cells"][name]["n"])
            for row in card["rows"]
            if row["cells"].get(name) and (row["cells"][name].get("n") or 0) < FEW
        )
        if few:
            groups.setdefault(few, []).append(label)
    if not groups:
        return []
    said = []
    for few, labels in groups.items():
        ns = ", ".join(str(n) for n in sorted({n for _, n in few}))
        said.append(f"{', '.join(labels)} (n = {ns}) of {', '.join(model for model, _ in few)}")
    return [
        f"Small sample: {'; '.join(said)}. Under {FEW} items the intervals are wide and "
        "differences between models cannot be told apart."
    ]


def share_text(m: Mapping[str, Any]) -> str:
    """A share as `8% [3, 19] (n=50)`."""
    ci = (
        f" [{100 * m['ci_low']:.0f}, {100 * m['ci_high']:.0f}]"
        if m.get("ci_low") is not None
        else ""
    )
    return f"{100 * m['value']:.0f}%{ci} (n={m['n']})"


def judge_banners(metrics: Mapping[str, Mapping[str, Any] | None], context: str = "") -> list[str]:
    """Warnings about the judge from its measures, by name: `consistency_rate` (or
    `position_consistency`), `verdict_share` (of pairs), `parse_rate` (of replies),
    `prefers_first_slot`; `context` says which
    comparison, where there are several."""
    head = f"Unreliable judge ({context}): " if context else "Unreliable judge: "
    out = []
    consistency = metrics.get("consistency_rate") or metrics.get("position_consistency")
    if consistency and consistency.get("value") is not None and consistency["value"] < CONSISTENCY:
        out.append(
            f"{head}its verdict stays the same when the answers swap places on only "
            f"{share_text(consistency)} of pairs, so most of its pairwise verdicts are ties."
        )
    verdicts = metrics.get("verdict_share")
    if verdicts and verdicts.get("value") is not None and verdicts["value"] < PARSE:
        out.append(
            f"{head}only {share_text(verdicts)} of pairs got a verdict; the rest had a failed or "
            "unparsed reply in an order (or, with --inconsistent flag, orders that disagree) "
            "and are in no win rate."
        )
    parse = metrics.get("parse_rate")
    if parse and parse.get("value") is not None and parse["value"] < PARSE:
        out.append(f"{head}only {share_text(parse)} of its replies carried a verdict.")
    first = metrics.get("prefers_first_slot")
    if first and first.get("value") is not None and first["value"] > FIRST_SLOT:
        out.append(
            f"{head}it gives {share_text(first)} of its decisive verdicts to the answer shown first."
        )
    return out


def served_banners(usages: Sequence[Mapping[str, Any] | None]) -> list[str]:
    """A judge whose endpoint answered as more than one model (or system fingerprint) in
    one run or across a run and its resume: verdicts from different models may not be
    comparable. Replies stored before identities were kept are not counted. A panel's
    usage is checked member by member (a panel answers as several models by design)."""
    out = []
    for usage in usages:
        if not usage:
            continue
        if usage.get("members"):
            out += served_banners(usage["members"])
            continue
        seen = served_identities(usage.get("served") or [])
        if len(seen) > 1:
            names = "; ".join(f"{name} ({n} replies)" for name, n in seen)
            out.append(
                f"The judge{' ' + usage['judge'] if usage.get('judge') else ''} answered as "
                f"{len(seen)} different models: "
                f"{names}. Verdicts from different models may not be comparable."
            )
    return out


def canary_banners(result: Mapping[str, Any] | None) -> list[str]:
    """A canary check alongside the work that did not find the judge unchanged, or found its
    endpoint answering as another model than at pinning."""
    if not result:
        return []
    out = []
    if result.get("status") != "unchanged":
        out.append(f"Canary: {result['verdict']}.")
    if result.get("identity_note"):
        out.append(f"Canary: {result['identity_note']}.")
    return out


def model_judge_banners(rows: Sequence[Mapping[str, Any]], baseline: str) -> list[str]:
    """`judge_banners` for every model of a comparison against the baseline, from its row
    (`judge_consistency`, `judge_verdict_share`)."""
    out = []
    for row in rows:
        out += judge_banners(
            {
                "consistency_rate": row.get("judge_consistency"),
                "verdict_share": row.get("judge_verdict_share"),
            },
            context=f"on {row['model']} vs {baseline}",
        )
    return out
