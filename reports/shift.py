"""The report of `harness dpo-shift`: standard vs robust DPO preference accuracy on the
training topic's held-out pairs and on shifted topics (shift.json -> summary.md, report.html)."""

from __future__ import annotations

from typing import Any

from reports.html import CSP, environment
from reports.text import ci_text, difference_text, md


def _acc(m: dict[str, Any]) -> str:
    return ci_text(m, 100)


def _diff(d: dict[str, Any]) -> str:
    return f"{difference_text(d)} (p={d['p_value']:.3f})"


def shift_summary_markdown(payload: dict[str, Any]) -> str:
    """The experiment as a Markdown table (for a PR comment)."""
    c = payload["config"]
    label = payload["robust_label"]
    lines = [
        f"## Robust DPO under topic shift: {md(c['model'])}, trained on '{md(c['source_topic'])}'",
        "",
        f"{payload['sets']['train']} training pairs, {c['max_steps']} steps, beta {c['beta']}, "
        f"{label} radius {c['robust_radius']}. Implicit-reward preference accuracy in %, "
        "95% Wilson CI (n); difference: paired bootstrap 95% CI.",
        "",
        f"| pairs | standard DPO | {label} | {label} - standard |",
        "|---|---|---|---|",
    ]
    for name, r in payload["results"].items():
        label = f"{c['source_topic']} (held out)" if name == "eval" else name
        lines.append(
            f"| {md(label)} | {_acc(r['standard'])} | {_acc(r['robust'])} | "
            f"{_diff(r['robust_minus_standard'])} |"
        )
    worst = payload["worst_topic"]
    lines += [
        "",
        "Worst shifted topic: "
        + ", ".join(f"{m} {md(w['topic'])} {100 * w['value']:.1f}%" for m, w in worst.items()),
    ]
    return "\n".join(lines) + "\n"


def render_shift_report(payload: dict[str, Any]) -> str:
    """The self-contained HTML page."""
    return environment.get_template("shift.html.j2").render(
        csp=CSP, payload=payload, acc=_acc, diff=_diff
    )
