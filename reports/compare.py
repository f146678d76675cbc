"""The comparison report: a Markdown summary for a PR comment and one self-contained HTML page
(inline SVG, CSS-only filters, no scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from reports import svg
from reports.banners import (
    canary_banners,
    card_banners,
    model_judge_banners,
    scorer_banners,
    served_banners,
)
from reports.html import CSP, environment
from reports.scorecard import card_context, card_markdown, model_card, overall, win_rate_measure
from reports.text import ci_text, difference_text, md


def compare_card(stats: dict[str, Any]) -> dict[str, Any]:
    """The scorecard of a comparison: each model's run metrics (from compare's scorers) and
    its win rate against the baseline."""
    metrics = stats.get("scorecard") or {}
    rows = stats["models"]
    return model_card(
        {r["model"]: overall(metrics.get(r["model"], [])) for r in rows},
        {r["model"]: win_rate_measure(r) for r in rows},
    )


def compare_banners(stats: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """Small samples and the toxicity model, as a run says them; and a judge whose two
    orders disagree on most pairs, which turns its verdicts into ties so that the win rate
    looks like a precise 50%: said per model, above the scorecard."""
    out = card_banners(compare_card(stats)) + scorer_banners(manifest.get("scorers", []))
    out += served_banners(manifest.get("judge_usage") or [])
    out += canary_banners(stats.get("canary"))
    return out + model_judge_banners(stats["models"], stats["baseline"])


def summary_markdown(stats: dict[str, Any], manifest: dict[str, Any]) -> str:
    """A short Markdown summary for a PR comment."""
    lines = [
        f"### Scorecard: win rates vs {md(stats['baseline'])} (judge: {md(manifest['judge']['spec'])}, position-swapped)",
        "",
        *(f"> **Warning:** {md(b)}" for b in compare_banners(stats, manifest)),
        "",
        *card_markdown(compare_card(stats), stats["baseline"]),
        "",
        "Rates and win rates in %, with [95% CI] and n; every model's metrics per suite are in "
        "winrates.json (scorecard).",
        "",
        "#### Leaderboard",
        "",
        "| model | LC win rate ± s.e. | win rate [95% CI] | n | avg length | judge consistency "
        "[95% CI] | BT rating [95% CI] |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    bt = {r["model"]: r for r in (stats["bradley_terry"] or {}).get("ratings", [])}
    for row in sorted(stats["models"], key=lambda r: -(r.get("length_controlled_winrate") or 0)):
        lc = row.get("length_controlled_winrate")
        wr = row.get("win_rate")
        r = bt.get(row["model"])
        lc_se = row.get("lc_standard_error")
        lc_text = "" if lc is None else f"{lc:.1f}" + ("" if lc_se is None else f" ± {lc_se:.1f}")
        ci = row.get("win_rate_ci")
        wr_text = (
            ""
            if wr is None
            else f"{wr:.1f} (baseline)"
            if ci is None
            else f"{wr:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"
        )
        bt_text = (
            ""
            if r is None
            else f"{r['rating']:.0f} (reference)"
            if r.get("reference")
            else f"{r['rating']:.0f} [{r['ci_low']:.0f}, {r['ci_high']:.0f}]"
            if r["ci_low"] is not None
            else f"{r['rating']:.0f} ({md(r['note'])})"
        )
        consistency = ci_text(row.get("judge_consistency"), 100, 0)
        lines.append(
            f"| {md(row['model'])} | {lc_text} | {wr_text} | {row.get('n_total', '')} | "
            f"{row['avg_length']} | {consistency} | {bt_text} |"
        )
    if stats.get("lc_difficulty"):
        lines += ["", f"LC instruction difficulty: {md(stats['lc_difficulty'])}."]
    if stats.get("canary"):
        lines += ["", f"Canary: {md(stats['canary']['verdict'])}."]
    if stats.get("panel"):
        lines += ["", *panel_summary_lines(stats)]
    for t in stats["paired_tests"]:
        lines.append("")
        need = (
            ""
            if t.get("n_needed") is None
            else f" (about {t['n_needed']:.0f} prompts separate them at this difference)"
        )
        lines.append(
            f"{md(t['model_b'])} - {md(t['model_a'])}: {md(difference_text(t, 'points'))}, "
            f"p = {t['p_value']:.3g}, n = {t['n']}{need}"
        )
    if stats.get("personas"):
        lines += ["", *persona_summary_lines(stats["personas"])]
        if stats["personas"].get("adapter_fit"):
            lines += ["", *adapter_fit_lines(stats["personas"]["adapter_fit"])]
    return "\n".join(lines) + "\n"


def panel_summary_lines(stats: dict[str, Any]) -> list[str]:
    """A judge panel's members' own win rates beside the panel's, and how far they agree."""
    panel = stats["panel"]
    names = panel["members"]
    lines = [
        f"#### Judge panel: {md(panel['spec'])}",
        "",
        "| model vs baseline | panel | " + " | ".join(md(n) for n in names) + " |",
        "|" + "---|" * (len(names) + 2),
    ]

    def cell(row: dict[str, Any] | None) -> str:
        if row is None or not row.get("win_rate_ci"):
            return "–"
        low, high = row["win_rate_ci"]
        return f"{row['win_rate']:.1f} [{low:.1f}, {high:.1f}] (n={row['n_total']})"

    for row in stats["models"]:
        if row["model"] == stats["baseline"]:
            continue
        own = [
            next((r for r in panel["member_win_rates"][n] if r["model"] == row["model"]), None)
            for n in names
        ]
        lines.append(f"| {md(row['model'])} | {cell(row)} | " + " | ".join(map(cell, own)) + " |")
    split = panel.get("split_rate")
    if split:
        lines += ["", f"Pairs on which the members' verdicts split (%): {ci_text(split, 100)}."]
    for a in panel["agreement"]:
        kappa = "undefined" if a["value"] is None else f"{a['value']:.2f}"
        if a.get("ci_low") is not None:
            kappa += f" [{a['ci_low']:.2f}, {a['ci_high']:.2f}] (n={a['n']})"
        else:
            kappa += f" (n={a['n']}: {md(a['note'])})"
        lines.append(f"Cohen's kappa, {md(a['a'])} vs {md(a['b'])}: {kappa}.")
    return lines


def persona_summary_lines(personas: dict[str, Any]) -> list[str]:
    """Per-persona win rates and verdict movement, as Markdown."""
    names = list(personas["profiles"])
    lines = [
        "#### Win rates per persona (personalised judge, position-swapped)",
        "",
        "| model vs baseline | "
        + " | ".join(md(n) for n in names)
        + " | verdict flips (%) | win-rate range (points; expected by chance; p) |",
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
        r = c.get("winrate_range")
        spread = (
            "–"
            if not r
            else f"{r['value']:.1f} ({r['null_mean']:.1f}; p = {r['p_value']:.3g}, n={r['n']})"
        )
        lines.append(
            f"| {md(c['model_b'])} vs {md(c['model_a'])} | "
            + " | ".join(cells)
            + f" | {flips} | {spread} |"
        )
    return lines


def adapter_fit_rows(fit: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Per-user adapters judged by every persona: the win-rate table (a row per model, a
    column per persona) and one sentence per adapter on whether it wins for its user."""
    table = [
        [m, *(ci_text(fit["matrix"][m][p], 100) for p in fit["personas"])] for m in fit["matrix"]
    ]
    sentences = []
    for o in fit["own"]:
        versus = "; ".join(
            f"minus {other}: {difference_text(d, 'points') if d.get('difference') is not None else d['note']}"
            for other, d in o["minus_other_adapters"].items()
        )
        verdict = (
            "wins for its user"
            if o["wins_for_its_user"]
            else "does not clearly win for its user" + (f" ({o['note']})" if o["note"] else "")
        )
        sentences.append(
            f"{o['adapter']} adapter under the {o['persona']} persona's judge: "
            f"{ci_text(o['win_rate'], 100)} % against the baseline; {versus}: {verdict}."
        )
    return table, sentences


def adapter_fit_lines(fit: dict[str, Any]) -> list[str]:
    """The per-user adapter table and findings, as Markdown."""
    table, sentences = adapter_fit_rows(fit)
    lines = [
        "#### Per-user adapters judged by every persona (win rate % against the baseline)",
        "",
        "| model | " + " | ".join(md(p) for p in fit["personas"]) + " |",
        "|" + "---|" * (len(fit["personas"]) + 1),
    ]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in table]
    return [*lines, "", *(f"- {md(s)}" for s in sentences)]


def render_compare_report(
    stats: dict[str, Any], manifest: dict[str, Any], judgments: Sequence[dict[str, Any]]
) -> str:
    """Leaderboard with CIs, forest plot, Bradley-Terry plot, win-rate heatmap, win rate vs
    length scatter, and a side-by-side viewer filterable by verdict and category."""
    rows = sorted(stats["models"], key=lambda r: -(r.get("length_controlled_winrate") or 0))
    judged = [r for r in rows if r.get("win_rate_ci")]
    forest = svg.forest(
        [r["model"] for r in judged],
        [r["win_rate"] for r in judged],
        [r["win_rate_ci"][0] for r in judged],
        [r["win_rate_ci"][1] for r in judged],
        lo=0,
        hi=100,
        reference=50,
        unit="%",
    )
    bt_svg = ""
    bt = stats.get("bradley_terry")
    ratings = [  # the reference is the dashed line at 1000: fixed there, it has no interval
        r
        for r in (bt or {}).get("ratings", [])
        if r["ci_low"] is not None and not r.get("reference")
    ]
    if ratings:
        lo = min(r["ci_low"] for r in ratings) - 20
        hi = max(r["ci_high"] for r in ratings) + 20
        bt_svg = svg.forest(
            [r["model"] for r in ratings],
            [r["rating"] for r in ratings],
            [r["ci_low"] for r in ratings],
            [r["ci_high"] for r in ratings],
            lo=lo,
            hi=hi,
            reference=1000,
        )
    matrix = stats["win_matrix"]
    heat = svg.heatmap(matrix["models"], matrix["empirical"])
    scatter = svg.scatter(
        [r["model"] for r in judged],
        [r["avg_length"] for r in judged],
        [r["win_rate"] for r in judged],
        x_label="average length (characters)",
        y_label="win rate vs baseline (%)",
    )
    categories = sorted({j.get("category") or "none" for j in judgments})
    return environment.get_template("compare.html.j2").render(
        csp=CSP,
        stats=stats,
        rows=rows,
        banners=compare_banners(stats, manifest),
        **card_context(compare_card(stats), stats["baseline"]),
        manifest=manifest,
        judgments=judgments,
        categories=categories,
        # The charts escape every label themselves (reports.svg).
        forest=Markup(forest),
        bt_svg=Markup(bt_svg),
        heat=Markup(heat),
        scatter=Markup(scatter),
        adapter_fit=(
            adapter_fit_rows(fit)
            if (fit := (stats.get("personas") or {}).get("adapter_fit"))
            else None
        ),
    )
