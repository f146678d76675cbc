"""Statistics and files of a comparison: winrates.json, summary.md, judgments.jsonl, report.html.

Per model against the baseline: AlpacaEval's head-to-head metrics on the judge's
position-swapped preferences (preference = 1 + P(model wins)), the length-controlled win
rate (joint instruction difficulty across the compared models), average length in
characters, judge consistency. Across all judged pairs: Bradley-Terry ratings with
prompt-bootstrap CIs and a rank table with CI-aware ties, the win-rate matrix, and paired
tests of "B beats A" between every two models judged against the same baseline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import write_text_atomic
from harness.stats import rate
from reports.bradley_terry import bradley_terry
from reports.length_control import Annotation, length_controlled_winrates
from reports.winrate import head_to_head, paired_difference


def compare_statistics(
    labels: Sequence[str],
    baseline: str,
    meta: Sequence[dict[str, Any]],
    results: Sequence[Any],
    outputs: dict[str, list[str]],
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """All numbers of the comparison (see the module docstring)."""
    prefs: dict[tuple[str, str], dict[int, float]] = {}
    consistency: dict[tuple[str, str], list[bool]] = {}
    failed: dict[tuple[str, str], int] = {}
    for m, r in zip(meta, results, strict=True):
        key = (m["model_a"], m["model_b"])
        if r.preference is not None:
            prefs.setdefault(key, {})[m["prompt_index"]] = r.preference
        else:
            failed[key] = failed.get(key, 0) + 1
        if r.consistent is not None:
            consistency.setdefault(key, []).append(bool(r.consistent))

    annotations = {
        b: [
            Annotation(str(k), len(outputs[a][k]), len(outputs[b][k]), p)
            for k, p in sorted(ps.items())
        ]
        for (a, b), ps in prefs.items()
        if a == baseline and ps
    }
    lc = length_controlled_winrates(annotations) if annotations else {}
    n_prompts = len(outputs[baseline])
    rows = []
    for label in labels:
        row: dict[str, Any] = {
            "model": label,
            "avg_length": int(sum(map(len, outputs[label])) / n_prompts),
        }
        if label == baseline:
            row.update(
                win_rate=50.0, standard_error=0.0, length_controlled_winrate=50.0, n_total=n_prompts
            )
        elif (baseline, label) in prefs:
            p = prefs[(baseline, label)]
            row.update(head_to_head([1.0 + v for v in p.values()]))
            row["length_controlled_winrate"] = lc.get(label)
            row["judge_failed"] = failed.get((baseline, label), 0)
            c = rate(consistency.get((baseline, label), []), suite="", metric="consistency")
            row["judge_consistency"] = (
                None if c is None else c.model_dump(include={"value", "ci_low", "ci_high", "n"})
            )
        rows.append(row)

    index = {label: i for i, label in enumerate(labels)}
    battles = [(k, index[a], index[b], p) for (a, b), ps in prefs.items() for k, p in ps.items()]
    ratings = (
        bradley_terry(labels, battles, reference=baseline, n_bootstrap=n_bootstrap)
        if battles
        else None
    )
    empirical: list[list[float | None]] = [[None] * len(labels) for _ in labels]
    for (a, b), ps in prefs.items():
        if ps:
            mean = float(np.mean(list(ps.values()))) * 100
            empirical[index[b]][index[a]] = mean
            empirical[index[a]][index[b]] = 100 - mean
    tests = []
    others = [m for m in labels if m != baseline and (baseline, m) in prefs]
    for i, a in enumerate(others):
        for b in others[i + 1 :]:
            shared = sorted(set(prefs[(baseline, a)]) & set(prefs[(baseline, b)]))
            if len(shared) >= 2:
                test = paired_difference(
                    [prefs[(baseline, a)][k] for k in shared],
                    [prefs[(baseline, b)][k] for k in shared],
                )
                tests.append({"model_a": a, "model_b": b, **test})
    return {
        "baseline": baseline,
        "models": rows,
        "bradley_terry": None
        if ratings is None
        else {
            "reference": baseline,
            "n_bootstrap": ratings.n_bootstrap,
            "n_prompts": ratings.n_prompts,
            "ratings": ratings.table(),
        },
        "win_matrix": {
            "models": list(labels),
            "empirical": empirical,
            "predicted": None if ratings is None else (ratings.win_matrix * 100).tolist(),
        },
        "paired_tests": tests,
    }


def _md(text: str) -> str:
    """Text made inert in a Markdown table cell."""
    out = str(text)
    for ch in "\\`*_{}[]()<>#+!|":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def summary_markdown(stats: dict[str, Any], manifest: dict[str, Any]) -> str:
    """A short Markdown summary for a PR comment."""
    lines = [
        f"### Win rates vs {_md(stats['baseline'])} (judge: {_md(manifest['judge']['spec'])}, position-swapped)",
        "",
        "| model | LC win rate | win rate ± s.e. | n | avg length | BT rating [95% CI] |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    bt = {r["model"]: r for r in (stats["bradley_terry"] or {}).get("ratings", [])}
    for row in sorted(stats["models"], key=lambda r: -(r.get("length_controlled_winrate") or 0)):
        lc = row.get("length_controlled_winrate")
        wr = row.get("win_rate")
        r = bt.get(row["model"])
        lc_text = "" if lc is None else f"{lc:.1f}"
        wr_text = "" if wr is None else f"{wr:.1f} ± {row.get('standard_error', 0.0):.1f}"
        bt_text = "" if r is None else f"{r['rating']:.0f} [{r['ci_low']:.0f}, {r['ci_high']:.0f}]"
        lines.append(
            f"| {_md(row['model'])} | {lc_text} | {wr_text} | {row.get('n_total', '')} | "
            f"{row['avg_length']} | {bt_text} |"
        )
    for t in stats["paired_tests"]:
        lines.append("")
        lines.append(
            f"{_md(t['model_b'])} - {_md(t['model_a'])}: {t['difference']:+.1f} points "
            f"[{t['ci_low']:.1f}, {t['ci_high']:.1f}], p = {t['p_value']:.3g}, n = {t['n']} "
            f"(about {t['n_needed']:.0f} prompts separate them at this difference)"
        )
    if stats.get("personas"):
        lines += ["", *persona_summary_lines(stats["personas"])]
    return "\n".join(lines) + "\n"


def ci_text(m: dict[str, Any] | None, scale: float = 1.0, digits: int = 1) -> str:
    """`value [low, high] (n=N)` for a measure with a CI (times `scale`), or – for none."""
    if not m or m.get("value") is None:
        return "–"
    v, lo, hi = (f"{scale * m[k]:.{digits}f}" for k in ("value", "ci_low", "ci_high"))
    return f"{v} [{lo}, {hi}] (n={m['n']})"


def persona_summary_lines(personas: dict[str, Any]) -> list[str]:
    """Per-persona win rates and verdict movement, as Markdown."""
    names = list(personas["profiles"])
    lines = [
        "#### Win rates per persona (personalised judge, position-swapped)",
        "",
        "| model vs baseline | "
        + " | ".join(_md(n) for n in names)
        + " | verdict flips (%) | win-rate range (points) |",
        "|" + "---|" * (len(names) + 3),
    ]
    for c in personas["comparisons"]:
        cells = []
        for n in names:
            h = c["per_persona"][n]
            cells.append(
                "–" if h["win_rate"] is None else f"{h['win_rate']:.1f} ± {h['standard_error']:.1f}"
            )
        flips = ci_text(c.get("flip_rate"), 100)
        spread = ci_text(c.get("winrate_range"))
        lines.append(
            f"| {_md(c['model_b'])} vs {_md(c['model_a'])} | "
            + " | ".join(cells)
            + f" | {flips} | {spread} |"
        )
    return lines


def write_compare_outputs(
    out: Path,
    stats: dict[str, Any],
    manifest: dict[str, Any],
    meta: Sequence[dict[str, Any]],
    results: Sequence[Any],
    jobs: Sequence[Any],
    outputs: dict[str, list[str]],
) -> dict[str, Any]:
    """Write the four files; returns winrates.json's content."""
    from reports.compare_report import render_compare_report

    payload = {**stats, "manifest": manifest}
    judgments = []
    for m, r in zip(meta, results, strict=True):
        k = m["prompt_index"]
        judgments.append(
            {
                **{key: m[key] for key in ("model_a", "model_b", "suite", "id", "category")},
                "prompt": jobs[k][1].prompt_text(),
                "response_a": outputs[m["model_a"]][k],
                "response_b": outputs[m["model_b"]][k],
                **{key: v for key, v in asdict(r).items() if key != "id"},
            }
        )
    write_text_atomic(out / "winrates.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(
        out / "judgments.jsonl",
        "".join(json.dumps(j, ensure_ascii=False) + "\n" for j in judgments),
    )
    write_text_atomic(out / "summary.md", summary_markdown(stats, manifest))
    write_text_atomic(out / "report.html", render_compare_report(stats, manifest, judgments))
    return payload
