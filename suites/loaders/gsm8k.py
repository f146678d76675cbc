"""Math word problems with a numeric answer (GSM8K, Cobbe et al. 2021) and the final-answer
check an outcome reward model (ORM) makes.

`gsm8k:SOURCE` reads GSM8K's JSON lines (`question`, and `answer`: a worked solution whose
last line is `#### <number>`) from a local file or a hub id (`openai/gsm8k`, config `main`,
split `test`). Rows may instead give the number alone in `answer` or in `final_answer`.
Each sample's `reference` is the final answer; the worked solution is kept in metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import is_hub_id, iter_hub, iter_jsonl
from harness.core.records import Sample
from harness.core.registry import register
from suites.math_answers import as_number

PROMPT_SUFFIX = (
    "\n\nSolve the problem step by step, one step per line. "
    "End with a line of the form: The answer is <number>."
)
"""Appended to each question so solutions come in steps with a findable final answer."""


def samples_from_rows(source: str, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[Sample]:
    """GSM8K rows -> samples whose reference is the final numeric answer."""
    out = []
    for line, row in rows:
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise InputError(source, "missing or empty", line=line, field="question")
        answer = row.get("final_answer", row.get("answer"))
        if answer is None or str(answer).strip() == "":
            raise InputError(source, "missing", line=line, field="answer")
        text = str(answer)
        final = text.rsplit("####", 1)[1].strip() if "####" in text else text.strip()
        if as_number(final) is None:
            raise InputError(
                source, f"the final answer {final!r} is not a number", line=line, field="answer"
            )
        out.append(
            Sample(
                id=str(row.get("id", f"gsm8k-{line}")),
                prompt=question.strip() + PROMPT_SUFFIX,
                reference=final.replace(",", ""),
                category=str(row["category"]) if row.get("category") else None,
                metadata={"question": question.strip()}
                | ({"solution": text} if "####" in text else {}),
            )
        )
    if not out:
        raise InputError(source, "the suite has no items")
    return out


@register("suite_loader", "gsm8k")
def load_gsm8k(source: str) -> tuple[str, list[Sample]]:
    """Load GSM8K-style problems from a JSONL file or a hub id (split 'test')."""
    if is_hub_id(source):
        config = "main" if source.endswith("gsm8k") else None
        return "gsm8k", samples_from_rows(source, iter_hub(source, "test", config))
    return Path(source).stem.split(".")[0] or "gsm8k", samples_from_rows(
        source, iter_jsonl(Path(source))
    )
