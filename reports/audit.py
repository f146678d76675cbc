"""The judge audit report card: measures with CIs, warnings a reader cannot miss, examples of flips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from harness.stats.intervals import FEW, too_few
from reports import svg
from reports.html import CSP, environment

IDEAL = {
    "human_agreement": 1.0,
    "human_agreement_confident": 1.0,
    "position_consistency": 1.0,
    "prefers_first_slot": 0.5,
    "flip_rate": 0.0,
    "prefers_longer": 0.5,
    "length_intervention_flip": 0.0,
    "prefers_lists": 0.5,
    "format_intervention_flip": 0.0,
    "bias": 0.0,
    "variance": 0.0,
    "parse_rate": 1.0,
    "cohen_kappa": 1.0,
}
"""Each measure's own best value, marked on its row; self-preference has none (compare it
with the reference judge's)."""

RATES = (
    "human_agreement",
    "human_agreement_confident",
    "position_consistency",
    "prefers_first_slot",
    "flip_rate",
    "prefers_longer",
    "length_intervention_flip",
    "prefers_lists",
    "format_intervention_flip",
    "self_preference",
    "reference_prefers_judge_answer",
    "bias",
    "variance",
    "parse_rate",
)


def warnings(measures: dict[str, Any]) -> list[str]:
    """Plain-language findings, from the CIs: a finding is stated only when its CI supports
    it and it rests on at least `FEW` pairs; under that, one line says there are too few."""
    out = []

    def m(name: str) -> dict[str, Any] | None:
        found = measures.get(name)
        return found if found and found.get("value") is not None and found["n"] >= FEW else None

    sizes = [
        measures[name]["n"]
        for name in ("human_agreement", "prefers_first_slot", "position_consistency")
        if measures.get(name)
    ]
    if sizes and min(sizes) < FEW:
        out.append(
            f"{too_few(min(sizes), 'pairs')} whether this judge agrees with humans or is "
            "biased; no finding is stated."
        )
    kappa = m("cohen_kappa")
    agree = m("human_agreement")
    raw = f"; it matches the human label on {100 * agree['value']:.0f}% of pairs" if agree else ""
    if kappa and kappa["ci_low"] is not None and kappa["ci_low"] <= 0.0:
        out.append(
            f"Agreement with humans is no better than chance: Cohen's kappa {kappa['value']:.2f} "
            f"[{kappa['ci_low']:.2f}, {kappa['ci_high']:.2f}] (n={kappa['n']}){raw}."
        )
    elif kappa and kappa.get("one_label"):
        out.append(
            "Agreement with humans is no better than chance: the judge gave one verdict "
            f"({kappa['one_label']}) to all {kappa['n']} pairs, so Cohen's kappa is 0{raw}."
        )
    first = m("prefers_first_slot")
    if first and (first["ci_low"] > 0.5 or first["ci_high"] < 0.5):
        slot = "first" if first["value"] > 0.5 else "second"
        out.append(
            f"Strong position bias: prefers the {slot} slot {100 * max(first['value'], 1 - first['value']):.0f}% "
            f"of the time [{100 * first['ci_low']:.0f}, {100 * first['ci_high']:.0f}] (n={first['n']}); "
            "always judge both orders."
        )
    cons = m("position_consistency")
    if cons and cons["value"] < 0.8:
        out.append(
            f"Verdicts change with the order of the answers in {100 * (1 - cons['value']):.0f}% of pairs."
        )
    pad = m("length_intervention_flip")
    if pad and pad["ci_low"] > 0.05:
        out.append(
            f"Content-free padding wins {100 * pad['value']:.0f}% of the pairs it was added to "
            f"[{100 * pad['ci_low']:.0f}, {100 * pad['ci_high']:.0f}]: verbosity bias."
        )
    fmt = m("format_intervention_flip")
    if fmt and fmt["ci_low"] > 0.05:
        out.append(
            f"Reformatting as a list wins {100 * fmt['value']:.0f}% of the pairs [{100 * fmt['ci_low']:.0f}, "
            f"{100 * fmt['ci_high']:.0f}]: format bias."
        )
    parse = m("parse_rate")
    if parse and parse["value"] < 0.95:
        out.append(f"Only {100 * parse['value']:.0f}% of replies contained a verdict.")
    return out


def render_audit_report(payload: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """The report page: one card per judge (side by side when several)."""
    cards = []
    for result in payload["judges"]:
        spec = result["judge"]["spec"]
        ms = result["measures"]
        rates = [
            (name, ms[name]) for name in RATES if name in ms and ms[name]["ci_low"] is not None
        ]
        chart = (
            svg.forest(
                [n for n, _ in rates],
                [100 * v["value"] for _, v in rates],
                [100 * v["ci_low"] for _, v in rates],
                [100 * v["ci_high"] for _, v in rates],
                lo=0,
                hi=100,
                unit="%",
                ideals=[None if n not in IDEAL else 100 * IDEAL[n] for n, _ in rates],
            )
            if rates
            else ""
        )
        kappa = ms.get("cohen_kappa")
        if kappa and kappa["ci_low"] is not None:
            chart += svg.forest(
                ["cohen_kappa"],
                [kappa["value"]],
                [kappa["ci_low"]],
                [kappa["ci_high"]],
                lo=-1,
                hi=1,
                reference=0,
                ideals=[IDEAL["cohen_kappa"]],
            )
        mine = [r for r in records if r["judge"] == spec]
        flips = [r for r in mine if r["base"]["consistent"] is False][:5]
        padded = [r for r in mine if r["padded"] and r["padded"]["verdict"] == r["padded_side"]][:3]
        cards.append(
            {
                "result": result,
                "warnings": warnings(ms),
                "chart": Markup(chart),  # escaped in reports.svg
                "flips": flips,
                "padded": padded,
            }
        )
    names = sorted(
        {name for r in payload["judges"] for name in r["measures"]},
        key=lambda n: (RATES.index(n) if n in RATES else len(RATES), n),
    )
    return environment.get_template("audit.html.j2").render(
        csp=CSP, payload=payload, cards=cards, names=names
    )
