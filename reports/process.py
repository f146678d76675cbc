"""The report of `harness process`: process vs outcome supervision metrics, best-of-N
selection and a step-by-step viewer (process.json -> summary.md, report.html)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.html import CSP, environment
from reports.text import ci_text, difference_text

METRICS = (
    ("step_labels_parsed", "steps the process judge gave a label (parse rate)"),
    ("final_answer_accuracy", "final-answer accuracy (outcome check against the reference)"),
    ("step_error_rate", "step-error rate (steps the process judge labels incorrect)"),
    ("solutions_with_wrong_step", "solutions with a wrong step"),
    ("right_answer_wrong_step", "right answer through a wrong step (of right answers)"),
)
SELECTORS = (
    ("prm_min", "PRM, min of step scores"),
    ("prm_product", "PRM, product of step scores"),
    ("orm", "ORM (outcome judge)"),
    ("majority", "majority vote"),
    ("first", "first candidate (no reranking)"),
    ("oracle", "oracle (any candidate right)"),
)


def rate_text(m: dict[str, Any] | None) -> str:
    """`value [low, high] (n=)` in %, or – when there is nothing to rate."""
    return ci_text(m, 100)


def process_summary_markdown(payload: dict[str, Any]) -> str:
    """The metrics and best-of-N as Markdown (for a PR comment)."""
    judge = payload["manifest"]["process_judge"]["spec"]
    lines = [
        f"## Process vs outcome supervision (judge: {judge})",
        "",
        "In %, 95% CI, n in brackets.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for key, label in METRICS:
        lines.append(f"| {label} | {rate_text(payload['metrics'][key])} |")
    agreement = payload.get("agreement_with_labels")
    if agreement:
        lines.append(
            f"| step labels agreeing with the file's | {rate_text(agreement['step_label_agreement'])} |"
        )
        lines.append(
            f"| same first wrong step as the file's | {rate_text(agreement['first_wrong_step_agreement'])} |"
        )
    bon = payload.get("best_of_n")
    if bon:
        lines += [
            "",
            f"### Best-of-N ({bon['questions']} questions, {bon['candidates_per_question']['min']}-"
            f"{bon['candidates_per_question']['max']} candidates each): accuracy of the pick",
            "",
            "| selector | accuracy |",
            "|---|---|",
        ]
        for key, label in SELECTORS:
            if key in bon["accuracy"]:
                lines.append(f"| {label} | {rate_text(bon['accuracy'][key])} |")
        d = bon.get("prm_min_minus_orm")
        if d:
            lines += [
                "",
                f"PRM (min) - ORM: {difference_text(d, 'points')}, p = {d['p_value']:.3g}, "
                f"n = {d['n']} questions.",
            ]
    return "\n".join(lines) + "\n"


def render_process_report(payload: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """The self-contained HTML page."""
    return environment.get_template("process.html.j2").render(
        csp=CSP,
        payload=payload,
        manifest=payload["manifest"],
        rows=rows,
        metrics=METRICS,
        selectors=SELECTORS,
        rate=rate_text,
    )
