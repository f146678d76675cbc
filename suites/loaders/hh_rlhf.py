"""Anthropic HH-RLHF (Bai et al., 2022): dialogues whose chosen/rejected answers share a prompt.

Each row becomes a sample whose messages are the dialogue before the final assistant turn;
the two final turns are kept in metadata (`chosen`, `rejected`) for judge audits and training.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import is_hub_id, iter_hub, iter_jsonl
from harness.core.records import Message, Sample
from harness.core.registry import register

_TURN = re.compile(r"\n\n(Human|Assistant): ")
_ROLE = {"Human": "user", "Assistant": "assistant"}
log = logging.getLogger(__name__)


class PromptMismatch(ValueError):
    """The two dialogues of a pair differ before their final assistant turns."""


def parse_dialogue(text: str) -> list[Message]:
    """'\\n\\nHuman: ...\\n\\nAssistant: ...' -> chat messages (raises ValueError if not a dialogue)."""
    parts = _TURN.split("\n\n" + text.lstrip("\n"))
    if parts[0].strip() or len(parts) < 3:
        raise ValueError("not a 'Human:/Assistant:' dialogue")
    return [
        Message(role=_ROLE[speaker], content=content.strip())  # type: ignore[arg-type]
        for speaker, content in zip(parts[1::2], parts[2::2], strict=True)
    ]


def split_pair(chosen: str, rejected: str) -> tuple[list[Message], str, str]:
    """The shared prompt turns and the two final assistant answers of a preference pair."""
    a, b = parse_dialogue(chosen), parse_dialogue(rejected)
    if a[-1].role != "assistant" or b[-1].role != "assistant":
        raise ValueError("a dialogue must end with an assistant turn")
    if a[:-1] != b[:-1]:
        raise PromptMismatch("'chosen' and 'rejected' do not share the same prompt turns")
    prompt = a[:-1]
    if not prompt or prompt[-1].role != "user":
        raise ValueError("the prompt turns must end with a human turn")
    return prompt, a[-1].content, b[-1].content


def samples_from_rows(source: str, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[Sample]:
    """HH-RLHF rows -> samples with the shared prompt and the final answers in metadata.

    The published test split has a few pairs whose two dialogues differ before the final
    turn (5 of 2,312 in harmless-base); those are skipped with a warning naming their lines.
    """
    out = []
    skipped: list[int] = []
    for line, row in rows:
        for col in ("chosen", "rejected"):
            if not isinstance(row.get(col), str):
                raise InputError(source, "missing or not a string", line=line, field=col)
        try:
            prompt, chosen, rejected = split_pair(row["chosen"], row["rejected"])
        except PromptMismatch:
            skipped.append(line)
            continue
        except ValueError as e:
            raise InputError(source, str(e), line=line, field="chosen") from None
        out.append(
            Sample(
                id=f"hh-{line}",
                messages=tuple(prompt),
                category="hh-rlhf",
                metadata={"chosen": chosen, "rejected": rejected},
            )
        )
    if skipped:
        log.warning(
            "%s: skipped %d pair(s) whose chosen and rejected prompts differ (line %s)",
            source,
            len(skipped),
            ", ".join(map(str, skipped)),
        )
    if not out:
        raise InputError(source, "the suite has no items")
    return out


@register("suite_loader", "hh-rlhf")
def load_hh_rlhf(source: str) -> tuple[str, list[Sample]]:
    """Load HH-RLHF pairs from a .jsonl/.jsonl.gz file or a hub id (split 'test')."""
    if is_hub_id(source):
        return "hh-rlhf", samples_from_rows(source, iter_hub(source, "test"))
    return "hh-rlhf", samples_from_rows(source, iter_jsonl(Path(source)))
