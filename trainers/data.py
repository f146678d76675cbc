"""Training data: preference pairs and chat examples from the sources users have.

- `hh-rlhf:PATH` (or a hub id): Anthropic HH-RLHF dialogues; the shared prompt turns are
  split from the two final assistant turns (mismatched pairs are skipped with a warning).
- a JSONL file with `prompt`, `chosen`, `rejected` (strings; the prompt is one user turn).
- `hf:DATASET[:SPLIT]`: a hub data set with `prompt`/`chosen`/`rejected` columns (strings or
  TRL's conversational lists) or HH-style `chosen`/`rejected` dialogues; needs the network.
- `judgments:PATH`: the harness's own pairwise judgments (`harness compare`'s
  judgments.jsonl, or `harness judge pairwise` output): the judged winner becomes `chosen`;
  ties and pairs without a verdict are left out.
- for PPO and CAI, prompts: any of the above (their prompts) or any suite (`harmful-smoke`,
  a suite file, `xstest:PATH`, ...).
- for SFT, a JSONL file with `messages` (a chat ending in an assistant turn) or `prompt` and
  `completion`; a preference source gives its `chosen` dialogues.
Errors name the file, line and field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.core.errors import InputError, UserError
from harness.core.io import iter_hub, iter_jsonl
from harness.core.records import Message
from harness.core.validation import validated_rows
from suites.suite import load_suite


@dataclass(frozen=True)
class PreferencePair:
    """One preference: chat prompt turns, the preferred and the other final answer."""

    prompt: list[dict[str, str]]
    chosen: str
    rejected: str

    def as_trl(self) -> dict[str, Any]:
        """TRL's conversational preference format."""
        return {
            "prompt": self.prompt,
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }


class _PairRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(default="-", min_length=1)
    prompt: str | list[Message] = Field(min_length=1)
    """One user turn, or the chat turns before the answers (ending with a user turn)."""
    chosen: str
    rejected: str

    def turns(self) -> list[dict[str, str]]:
        if isinstance(self.prompt, str):
            return [{"role": "user", "content": self.prompt}]
        return [m.model_dump() for m in self.prompt]


class _JudgedRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(default="-", min_length=1)
    prompt: str = Field(min_length=1)
    response_a: str
    response_b: str
    verdict: Literal["A", "B", "tie"] | None = None


PREFERENCE_PREFIXES = ("hh-rlhf:", "hf:", "judgments:")


def load_pairs(source: str, limit: int | None = None) -> list[PreferencePair]:
    """Preference pairs from any of the sources above."""
    if source.startswith("hh-rlhf:"):
        samples = load_suite(source).samples
        pairs = [
            PreferencePair(
                [{"role": m.role, "content": m.content} for m in s.messages or ()],
                str(s.metadata["chosen"]),
                str(s.metadata["rejected"]),
            )
            for s in samples
        ]
    elif source.startswith("hf:"):
        pairs = _hub_pairs(source)
    elif source.startswith("judgments:"):
        path = _file(source.removeprefix("judgments:"))
        pairs = [
            PreferencePair(
                [{"role": "user", "content": r.prompt}],
                r.response_a if r.verdict == "A" else r.response_b,
                r.response_b if r.verdict == "A" else r.response_a,
            )
            for _, r in validated_rows(path, _JudgedRow, unique_ids=False)
            if r.verdict in ("A", "B")
        ]
    else:
        path = _file(source)
        pairs = [
            PreferencePair(r.turns(), r.chosen, r.rejected)
            for _, r in validated_rows(path, _PairRow, unique_ids=False)
        ]
    return _limited(pairs, limit, source)


def _hub_pairs(source: str) -> list[PreferencePair]:
    from suites.loaders.hh_rlhf import split_pair

    dataset, _, split = source.removeprefix("hf:").partition(":")
    pairs = []
    for line, row in iter_hub(dataset, split or "train"):
        chosen, rejected, prompt = row.get("chosen"), row.get("rejected"), row.get("prompt")
        if isinstance(chosen, list) and isinstance(rejected, list):  # TRL conversational
            turns = prompt if isinstance(prompt, list) else []
            if not (chosen and rejected) or chosen[-1].get("role") != "assistant":
                raise UserError(f"{source}: row {line}: 'chosen' must end with an assistant turn")
            if not turns:  # whole dialogues: the shared prefix is the prompt
                turns, chosen, rejected = chosen[:-1], chosen[-1:], rejected[-1:]
            pairs.append(
                PreferencePair(
                    [{"role": str(m["role"]), "content": str(m["content"])} for m in turns],
                    str(chosen[-1]["content"]),
                    str(rejected[-1]["content"]),
                )
            )
        elif isinstance(prompt, str) and isinstance(chosen, str) and isinstance(rejected, str):
            pairs.append(PreferencePair([{"role": "user", "content": prompt}], chosen, rejected))
        elif isinstance(chosen, str) and isinstance(rejected, str):  # HH-style dialogues
            try:
                messages, good, bad = split_pair(chosen, rejected)
            except ValueError as e:
                raise UserError(f"{source}: row {line}: {e}") from None
            pairs.append(PreferencePair([m.model_dump() for m in messages], good, bad))
        else:
            raise UserError(
                f"{source}: row {line}: needs 'chosen' and 'rejected' (and 'prompt') columns"
            )
    return pairs


def load_prompts(source: str, limit: int | None = None) -> list[list[Message]]:
    """Prompts (chats ending in a user turn) for PPO rollouts and CAI red-teaming: the
    prompts of a preference source, or any suite."""
    if source.startswith(PREFERENCE_PREFIXES) or _is_pair_file(source):
        chats = [[Message.model_validate(m) for m in p.prompt] for p in load_pairs(source, limit)]
    else:
        chats = [s.chat() for s in load_suite(source).samples]
    return _limited(chats, limit, source)


def _is_pair_file(source: str) -> bool:
    path = Path(source)
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    first = next(iter_jsonl(path), None)
    return first is not None and "chosen" in first[1]


def load_chats(source: str, limit: int | None = None) -> list[list[dict[str, str]]]:
    """Chats ending in an assistant turn, for SFT."""
    if source.startswith("hh-rlhf:"):
        return [
            [*p.prompt, {"role": "assistant", "content": p.chosen}]
            for p in load_pairs(source, limit)
        ]
    path = _file(source)
    chats = []
    for line, row in iter_jsonl(path):
        if "messages" in row:
            messages = row["messages"]
            if not (
                isinstance(messages, list)
                and messages
                and all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in messages)
            ):
                raise InputError(
                    path, "must be a list of {role, content}", line=line, field="messages"
                )
            if messages[-1]["role"] != "assistant":
                raise InputError(
                    path, "must end with an assistant turn", line=line, field="messages"
                )
            chats.append([{"role": str(m["role"]), "content": str(m["content"])} for m in messages])
        elif isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str):
            chats.append(
                [
                    {"role": "user", "content": row["prompt"]},
                    {"role": "assistant", "content": row["completion"]},
                ]
            )
        elif {"prompt", "chosen"} <= set(row):
            chats.append(
                [
                    {"role": "user", "content": str(row["prompt"])},
                    {"role": "assistant", "content": str(row["chosen"])},
                ]
            )
        else:
            raise InputError(path, "needs 'messages', or 'prompt' and 'completion'", line=line)
    return _limited(chats, limit, source)


def source_digest(source: str) -> str:
    """sha256 of the data file behind a source (the manifest records it)."""
    path = Path(
        source.split(":", 1)[1] if source.startswith(("hh-rlhf:", "judgments:")) else source
    )
    if not path.is_file():
        return "unavailable (not a local file)"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file(source: str) -> Path:
    path = Path(source)
    if not path.is_file():
        raise UserError(f"--data {source}: no such file (or use hh-rlhf:PATH)")
    return path


def _limited(rows: list[Any], limit: int | None, source: str) -> list[Any]:
    if not rows:
        raise UserError(f"--data {source}: no training rows")
    return rows[:limit] if limit else rows


def write_pairs(path: Path, pairs: list[PreferencePair], prefix: str = "p") -> None:
    """Pairs as a JSONL preference file (`id`, `prompt` turns, `chosen`, `rejected`) that
    `load_pairs` reads back, written atomically."""
    from harness.core.atomic import write_text_atomic

    rows = [
        json.dumps({"id": f"{prefix}{i}", "prompt": p.prompt, "chosen": p.chosen,
                    "rejected": p.rejected})
        for i, p in enumerate(pairs)
    ]  # fmt: skip
    write_text_atomic(path, "\n".join(rows) + "\n")
