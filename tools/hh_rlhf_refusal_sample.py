"""Real answers of another chat assistant to red-team prompts, labelled here by XSTest's
guide, as refusal data.

    python -m tools.hh_rlhf_refusal_sample ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz \
        --dump F

Anthropic's HH-RLHF harmless-base test split (`../shared/data/hh-rlhf`, MIT) holds real
answers of Anthropic's 2022 research assistants to red-team requests: many comply, some
refuse, some deflect. No part of the refusal detector was written, trained or chosen on
any of them before this tool. It draws one fixed sample:

- the 662 single-turn dialogues (one human turn, so the prompt is the whole request, as in
  XSTest), in file order; pairs whose two dialogues differ before the last turn are left out;
- 240 of them, seed 0, and of each one answer, `chosen` or `rejected` by a coin of the
  same generator (so both the preferred and the dispreferred styles appear).

Each answer was labelled by hand from the request and the whole answer before any scorer
was run on it (`refusal_data/hh_rlhf_real_labels.jsonl`: line, side, a hash of the text,
the label, and `guide_unclear` where XSTest's guide does not settle the class: questions
back instead of an answer, answers that misread the request). The texts stay in `../shared`.

Pre-registered use (fixed before labelling, 2026-12-07): the sample decides between three
ways of combining the detector's two parts, scored with XSTest's test-half folds (the
fold readers retrained without the held-out model):

- C: the committed default (the rules' refusal, or the reader's in both readings);
- W: C, except that a refusal seen by the rules alone becomes compliance when the reader,
  read with the prompt, gives compliance a probability of 0.9 or more;
- R: the rules' class alone (the reader gives only `refusal_score`).

Rule: most binary rows right over this sample and the test-half folds together (240 +
216); within one row, most 3-class rows right; then C before W before R. Guard: a
candidate may lose at most 2 binary rows against C on the test-half folds and at most 3
on the five written held-out sets plus PyRIT's rows together; else the next is taken.
Separately, F (rules: an AI-limit plea in the opening followed by a later refusal, with no
answer after the plea, is a full refusal, not a partial one) changes only full against
partial; it is adopted if, over this sample, the folds, the written held-out sets and the
SmolLM2 holdout, it gains at least as many 3-class rows as it loses. The 180-answer
AlpacaEval check is scored after the choice and decides nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path
from typing import Any

from suites.loaders.hh_rlhf import PromptMismatch, split_pair
from tools.alpaca_eval_refusal_check import digest
from tools.refusal_training import DATA, read_labelled

LABELS_FILE = DATA / "hh_rlhf_real_labels.jsonl"
SEED = 0
SIZE = 240


def single_turn_pairs(path: Path) -> list[dict[str, Any]]:
    """The file's single-turn pairs: line (1-based), request, and both final answers."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line, raw in enumerate(f, 1):
            row = json.loads(raw)
            try:
                prompt, chosen, rejected = split_pair(row["chosen"], row["rejected"])
            except PromptMismatch:
                continue
            if len(prompt) != 1:
                continue
            out.append(
                {"line": line, "prompt": prompt[0].content, "chosen": chosen, "rejected": rejected}
            )
    return out


def sample(path: Path) -> list[dict[str, Any]]:
    """The fixed sample: 240 single-turn pairs (seed 0), one answer of each by a coin."""
    pairs = single_turn_pairs(path)
    rng = random.Random(SEED)
    picked = rng.sample(pairs, SIZE)
    out = []
    for pair in picked:
        side = "chosen" if rng.random() < 0.5 else "rejected"
        out.append(
            {"line": pair["line"], "side": side, "prompt": pair["prompt"], "completion": pair[side]}
        )
    return out


def labelled(path: Path, labels: Path = LABELS_FILE) -> list[dict[str, Any]]:
    """The labelled rows with their texts read from the HH-RLHF file; a text whose hash no
    longer matches its label's is an error, not a silent skip."""
    pairs = {p["line"]: p for p in single_turn_pairs(path)}
    rows = []
    for i, lab in enumerate(read_labelled(labels), 1):
        pair = pairs.get(lab["line"])
        if (
            pair is None
            or lab["side"] not in ("chosen", "rejected")
            or digest(pair[lab["side"]]) != lab["sha256_12"]
        ):
            raise ValueError(
                f"{labels}:{i}: field 'sha256_12' does not match line {lab['line']} {lab['side']}"
            )
        rows.append(
            {
                "line": lab["line"],
                "side": lab["side"],
                "prompt": pair["prompt"],
                "completion": pair[lab["side"]],
                "label": lab["label"],
                "guide_unclear": lab["guide_unclear"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hh_rlhf", type=Path, help="harmless-base-test.jsonl.gz")
    parser.add_argument("--dump", type=Path, required=True, help="write the sample here")
    args = parser.parse_args()
    with args.dump.open("w", encoding="utf-8") as f:
        for row in sample(args.hh_rlhf):
            f.write(json.dumps({**row, "sha256_12": digest(row["completion"])}) + "\n")


if __name__ == "__main__":
    main()
