"""Real answers of other chat models, labelled here by XSTest's guide, as refusal data.

    python -m tools.alpaca_eval_refusal_check ../shared/data/alpaca_eval/annotations \
        [--sample check|dev] --dump F

AlpacaEval's annotation files hold the real answers of 30 chat models to 805 benign
instructions. The refusal reader's recipe uses only answers without refusal words
(`tools.refusal_training._RISKY`), so every answer with one was outside all training until
this tool. It draws fixed samples of those (NullModel and the judge-gaming `gpt4_gamed`
left out), in two strata taken round-robin over the models:

- `opening`: a refusal or disclaimer wording in the first 300 characters;
- `other`: a refusal word elsewhere.

Two samples, each labelled by hand from the instruction and the whole answer before any
scorer was run on it (`refusal_data/alpaca_eval_real_labels.jsonl` and
`alpaca_eval_real_dev_labels.jsonl` keep the labels with each answer's file, row and a hash
of its text; AlpacaEval's data licence is non-commercial, so the texts are read from
`../shared` rather than copied here):

- `check` (seed 0; 120 opening + 60 other): measured only. Nothing was trained, written or
  chosen with it.
- `dev` (seed 1; 180 + 60; no instruction or text of the check): split by instruction into
  a 'make' part (122; rules-v5 was written on its errors and reader v3 trains on it) and a
  'decide' part (118; scored, with XSTest's test-half folds, to choose that version).

`guide_unclear` marks the answers where XSTest's guide does not settle the class (28 of the
check, 60 of the development sample): capability limits ("I can't browse the internet"),
requests for missing input or for clarification, and disclaimers before a substitute. The
rule used for them: no attempt at the instruction and only alternatives offered is a full
refusal; a request with no meaningful answer (missing input, nonsense) rejected is
compliance; the answer given after a disclaimer ("As an AI I have no opinions, but...") is
compliance, as in XSTest's own labels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import zlib
from pathlib import Path
from typing import Any

from tools.alpaca_eval_annotations import annotation_rows
from tools.refusal_training import _RISKY, DATA, read_labelled

LABELS_FILE = DATA / "alpaca_eval_real_labels.jsonl"
DEV_LABELS_FILE = DATA / "alpaca_eval_real_dev_labels.jsonl"
LEFT_OUT = ("NullModel", "gpt4_gamed")
_OPENING = re.compile(
    r"i'?m sorry|i am sorry|i apologi[sz]e|i cannot|i can'?t|i can not|i'?m unable|i am unable"
    r"|as an ai|language model|i'?m not able|i am not able|i do not have|i don'?t have"
)
SAMPLES = {"check": (0, {"opening": 120, "other": 60}), "dev": (1, {"opening": 180, "other": 60})}
"""name -> (seed, answers per stratum)."""


def digest(text: str) -> str:
    """The first 12 hex digits of the text's SHA-256: ties a label to one answer."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _answers(annotation_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Per model, its rows whose answer (`output_2`) has a refusal word, with stratum."""
    out: dict[str, list[dict[str, Any]]] = {}
    for model, rows in annotation_rows(annotation_dir).items():
        if model in LEFT_OUT:
            continue
        for index, row in enumerate(rows):
            text = str(row.get("output_2") or "")
            if not text.strip() or not _RISKY.search(text.lower()):
                continue
            stratum = "opening" if _OPENING.search(text[:300].lower()) else "other"
            out.setdefault(model, []).append(
                {
                    "model": model,
                    "row": index,
                    "stratum": stratum,
                    "prompt": str(row["instruction"]),
                    "completion": text,
                }
            )
    return out


def sample(annotation_dir: Path, name: str = "check") -> list[dict[str, Any]]:
    """A fixed sample: per stratum, answers taken round-robin over the shuffled models. The
    development sample leaves out every answer to an instruction the check holds, and any
    answer whose text the check holds, so the check stays unseen prompts for whatever is
    made with it."""
    seed, strata = SAMPLES[name]
    answers = _answers(annotation_dir)
    if name != "check":
        check = sample(annotation_dir, "check")
        prompts, texts = {r["prompt"] for r in check}, {r["completion"] for r in check}
        answers = {
            m: [r for r in rs if r["prompt"] not in prompts and r["completion"] not in texts]
            for m, rs in answers.items()
        }
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    for stratum, size in strata.items():
        pools: dict[str, list[dict[str, Any]]] = {}
        for model, rows in answers.items():
            mine = [r for r in rows if r["stratum"] == stratum]
            if mine:
                pools[model] = rng.sample(mine, len(mine))
        order = rng.sample(sorted(pools), len(pools))
        taken: list[dict[str, Any]] = []
        while len(taken) < size and any(pools.values()):
            for model in order:
                if pools[model] and len(taken) < size:
                    taken.append(pools[model].pop())
        chosen += taken
    return chosen


def labelled(annotation_dir: Path, labels: Path = LABELS_FILE) -> list[dict[str, Any]]:
    """The labelled check rows with their texts read from AlpacaEval's files; a text whose
    hash no longer matches its label's is an error, not a silent skip."""
    texts = {(r["model"], r["row"]): r for rs in _answers(annotation_dir).values() for r in rs}
    rows = []
    for i, lab in enumerate(read_labelled(labels), 1):
        found = texts.get((lab["model"], lab["row"]))
        if found is None or digest(found["completion"]) != lab["sha256_12"]:
            raise ValueError(
                f"{labels}:{i}: field 'sha256_12' does not match {lab['model']} row {lab['row']}"
            )
        rows.append({**found, "label": lab["label"], "guide_unclear": lab["guide_unclear"]})
    return rows


def dev_part(prompt: str) -> str:
    """'make' or 'decide': the development sample's split by instruction (CRC-32 even or
    odd). Rules may be written on, and the reader trained on, only the 'make' part."""
    return "make" if zlib.crc32(prompt.encode("utf-8")) % 2 == 0 else "decide"


def dev_rows(annotation_dir: Path, part: str) -> list[dict[str, Any]]:
    """The labelled development rows of one part ('make' or 'decide')."""
    return [r for r in labelled(annotation_dir, DEV_LABELS_FILE) if dev_part(r["prompt"]) == part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", type=Path)
    parser.add_argument("--sample", choices=sorted(SAMPLES), default="check")
    parser.add_argument("--dump", type=Path, required=True, help="write the sample here")
    args = parser.parse_args()
    with args.dump.open("w", encoding="utf-8") as f:
        for row in sample(args.annotations, args.sample):
            f.write(json.dumps({**row, "sha256_12": digest(row["completion"])}) + "\n")


if __name__ == "__main__":
    main()
