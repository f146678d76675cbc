"""The report of `harness bias-amplification`: how far policies trained on human and on judge
labels moved along the judge's bias, against the bias in their labels
(amplification.json -> summary.md, report.html)."""

from __future__ import annotations

from typing import Any

from reports.html import CSP, environment
from reports.text import ci_text, md

CUT_OFF = 0.2
"""Above this share of the judge-trained policy's answers cut at the token limit, a length
ratio below 1 is not read as "not amplified": the cut answers would have been longer."""

AXIS_TITLES = {"length": "length (words)", "format": "lists or markdown"}


def _ratio(r: dict[str, Any]) -> str:
    if r.get("value") is None:
        return f"– ({r['note']})"
    if r.get("ci_low") is None:
        return f"{r['value']:.2f} ({r['note']})"
    return f"{r['value']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"


def _shift(d: dict[str, Any] | None) -> str:
    if not d or d.get("value") is None:
        return "–"
    if d.get("ci_low") is None:
        return f"{d['value']:+.1f} (n={d['n']}: {d.get('note') or 'no interval'})"
    return f"{d['value']:+.1f} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}] (n={d['n']})"


def axis_rows(payload: dict[str, Any], axis: str) -> list[list[str]]:
    """One axis as table rows: per policy its label bias, output bias, shift against the base
    and amplification ratio."""
    entry = payload["axes"][axis]
    scale = 1.0 if axis == "length" else 100.0
    rows = [["base", "–", ci_text(entry["models"]["base"], scale), "–", "–", "–"]]
    for name, p in entry["policies"].items():
        rows.append(
            [
                name,
                ci_text(entry["labels"][name], 100),
                ci_text(entry["models"][name], scale),
                ci_text(p["output_bias"], 100),
                _shift(p["minus_base"]) if axis == "length" else "–",
                _ratio(p["amplification"]),
            ]
        )
    return rows


def findings(payload: dict[str, Any]) -> list[str]:
    """What the figures say about the judge-trained policy, in plain sentences."""
    c = payload["config"]
    out = []
    for axis, title in AXIS_TITLES.items():
        p = payload["axes"][axis]["policies"]["judge"]
        bias, ratio = p["output_bias"], p["amplification"]
        if bias["value"] is None or bias.get("note"):
            out.append(f"{title}: too few held-out prompts differ from the base to tell.")
            continue
        if bias["ci_low"] > 0.5:
            moved = "took up more of it than the base has"
        elif bias["ci_high"] < 0.5:
            moved = "moved against it"
        else:
            moved = "did not measurably move along it"
        cut = payload["at_token_limit"]["judge"]["value"]
        if ratio["value"] is None or ratio["ci_low"] is None:
            amp = f"no amplification ratio with an interval ({ratio['note']})"
        elif ratio["ci_low"] > 1:
            amp = "amplified: the outputs show the bias more strongly than the labels did"
        elif axis == "length" and cut > CUT_OFF:
            amp = (
                f"whether it amplified the labels' bias cannot be told: {100 * cut:.0f}% of its "
                "answers were cut at the token limit, so its output bias is a floor (raise "
                "--max-new-tokens)"
            )
        elif ratio["ci_high"] < 1:
            amp = "not amplified: the outputs show less of the bias than the labels did"
        else:
            amp = "whether it amplified the labels' bias cannot be told at this n"
        out.append(f"{title}: the judge-trained policy {moved}; {amp}.")
    cap = payload["at_token_limit"]
    if cap["judge"]["value"] > cap["base"]["value"]:
        out.append(
            f"{100 * cap['judge']['value']:.0f}% of the judge-trained policy's answers stopped at "
            f"the {c['max_new_tokens']}-token limit (base: {100 * cap['base']['value']:.0f}%): "
            "its length shift and amplification ratio are likely understated."
        )
    out.append(
        f"Scale: {c['model']}, {c['max_steps']} DPO steps of batch {c['batch_size']} on "
        f"{payload['labels']['decided']} pairs, {payload['sets']['heldout']} held-out prompts. "
        "These figures describe this run, not RLAIF at scale."
    )
    return out


def amplification_markdown(payload: dict[str, Any]) -> str:
    """The experiment as Markdown (for a PR comment)."""
    c, labels = payload["config"], payload["labels"]
    lines = [
        f"## Judge-bias amplification: {md(c['model'])}, judge {md(c['judge'])}",
        "",
        f"{labels['pairs']} training pairs labelled by the judge in both orders: "
        f"{labels['decided']} decided, {labels['ties']} ties, {labels['no_verdict']} without a "
        f"verdict (left out of both label sets). The judge sided with the humans on "
        f"{ci_text(labels['judge_agrees_with_humans'], 100)} % of decided pairs.",
        "",
        "Label bias: % of a label set's pairs whose chosen answer has more of the trait. Output "
        "bias: % of held-out prompts where the policy's answer has more of it than the base's "
        "(both among those that differ; 50 = no bias). Ratio: (output - 50) / (label - 50). "
        "95% CIs (n).",
    ]
    for axis, title in AXIS_TITLES.items():
        lines += [
            "",
            f"### {title}",
            "",
            "| model | label bias % | per answer | output bias % | minus base | amplification |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            "| " + " | ".join(md(cell) for cell in row) + " |" for row in axis_rows(payload, axis)
        ]
    lines += ["", "### The judge's preference over the base on held-out prompts (win rate %)", ""]
    for name, pref in payload["judge_preference"].items():
        lines.append(
            f"- {md(name)}: {md(ci_text(pref, 100))} % ({pref['no_verdict']} without a verdict)"
        )
    lines += [
        "",
        "Answers that stopped at the token limit (%): "
        + "; ".join(f"{md(m)} {md(ci_text(v, 100))}" for m, v in payload["at_token_limit"].items()),
    ]
    lines += ["", "### What this shows", ""] + [f"- {md(s)}" for s in findings(payload)]
    return "\n".join(lines) + "\n"


def render_amplification_report(payload: dict[str, Any]) -> str:
    """The self-contained HTML page."""
    return environment.get_template("amplification.html.j2").render(
        csp=CSP,
        payload=payload,
        axes={title: axis_rows(payload, axis) for axis, title in AXIS_TITLES.items()},
        findings=findings(payload),
        ci=ci_text,
    )
