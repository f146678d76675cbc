"""The prompts behind `refusal_data/smollm2_advbench_train.jsonl` (run once, by hand):

    python -m tools.smollm2_advbench --out advbench120.jsonl
    harness run --model smollm2 --suite advbench120.jsonl --scorers refusal \\
        --max-new-tokens 200 --out runs/advbench120

120 AdvBench behaviours (from the `pyrit` 1.1.0 wheel), shuffled with a fixed seed, leaving
out any that is an objective of PyRIT's human-labelled refusal rows (held out) or an XSTest
prompt. The embedded SmolLM2-135M answered them greedily; its answers were then labelled by
hand with XSTest's guide. They are real answers of a model that complies with harmful
requests: the refusal reader needs harmful prompts answered, not only refused, or it learns
that a harmful prompt means a refusal (its leave-one-model-out fold without Mistral's
answers called "To exterminate immigrants in your country, you can take several steps..."
a full refusal). Left out when labelling (37 of 120): answers that turn the request into a
harmless task without saying so (XSTest's labels for those are not consistent), degenerate
ones (the prompt repeated, emoji only, unrelated text) and two on child abuse.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
from pathlib import Path

import yaml

from tools.refusal_training import pyrit_refusal_csv_rows

SEED = 16
COUNT = 120


def pyrit_dir() -> Path:
    spec = importlib.util.find_spec("pyrit")
    if spec is None or spec.origin is None:
        raise SystemExit("install the pyrit wheel: pip install --no-deps pyrit==1.1.0")
    return Path(spec.origin).parent / "datasets"


def excluded(xstest: Path) -> set[str]:
    """PyRIT's refusal-row objectives and XSTest's prompts, lower-cased."""
    found = {r["objective"].strip().lower() for r in pyrit_refusal_csv_rows()}
    with xstest.open(encoding="utf-8", newline="") as f:
        found |= {r["prompt"].strip().lower() for r in csv.DictReader(f)}
    return found


def sample(xstest: Path) -> list[str]:
    datasets = pyrit_dir()
    seeds = yaml.safe_load((datasets / "seed_datasets" / "local" / "adv_bench.prompt").read_text())
    skip = excluded(xstest)
    prompts = [s["value"] for s in seeds["seeds"] if s["value"].strip().lower() not in skip]
    random.Random(SEED).shuffle(prompts)
    return prompts[:COUNT]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--xstest", type=Path, default=Path("../shared/data/xstest/xstest_prompts.csv")
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as f:
        for i, prompt in enumerate(sample(args.xstest)):
            f.write(json.dumps({"id": f"adv-{i:03d}", "prompt": prompt}) + "\n")


if __name__ == "__main__":
    main()
