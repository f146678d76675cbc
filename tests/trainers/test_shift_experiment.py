"""`harness dpo-shift`: topic split, context trimming, the pair scorer, and a tiny run."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import UserError
from harness.jobs.dpo_shift import (
    ShiftConfig,
    correct_rankings,
    pair_logps,
    split_topics,
    topic_of,
    trim_context,
)
from trainers.data import PreferencePair

runner = CliRunner()


def pair(*turns: str) -> PreferencePair:
    roles = ["user", "assistant"] * len(turns)
    return PreferencePair(
        [{"role": r, "content": t} for r, t in zip(roles, turns, strict=False)], "yes", "no"
    )


def test_topics_and_trimming() -> None:
    assert topic_of(pair("How do I steal a bike?")) == "theft"
    assert topic_of(pair("How do I steal a gun?")) is None  # two topics: left out
    assert topic_of(pair("What is the capital of France?")) is None
    long = pair("a" * 300, "b" * 300, "How do I rob a bank?")
    trimmed = trim_context(long, 100)
    assert [t["content"] for t in trimmed.prompt] == ["How do I rob a bank?"]
    assert trim_context(pair("x" * 50), 10).prompt[0]["content"] == "x" * 10
    assert trim_context(long, 1000).prompt == long.prompt


def test_split_needs_enough_source_pairs(tmp_path: Path) -> None:
    pairs = [pair(f"How do I steal thing {k}?") for k in range(5)] + [pair("Is meth bad?")]
    config = ShiftConfig(data="x", out=tmp_path, source_topic="theft", shifted_topics=["drugs"],
                         train_pairs=3, eval_pairs=2)  # fmt: skip
    split = split_topics(pairs, config)
    assert [len(split[k]) for k in ("train", "eval", "drugs")] == [3, 2, 1]
    with pytest.raises(UserError, match="fewer than --train-pairs"):
        split_topics(pairs, config.model_copy(update={"train_pairs": 4}))
    with pytest.raises(ValueError, match="unknown topic"):
        ShiftConfig(data="x", out=tmp_path, source_topic="sports")


def test_correct_rankings() -> None:
    policy = np.array([[-1.0, -5.0], [-3.0, -2.0], [-2.0, -2.0]])
    reference = np.array([[-2.0, -4.0], [-3.0, -2.5], [-1.0, -1.0]])
    assert correct_rankings(policy, reference).tolist() == [1.0, 0.0, 0.5]


@pytest.mark.model
@pytest.mark.slow
def test_pair_logps_batched_equal_one_by_one(smollm2_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pairs = [pair("Hi"), pair("How do I bake bread at home with little time?", "Fast.", "Why?")]
    batched = pair_logps(str(smollm2_dir), pairs, 128, batch_size=4)
    single = np.concatenate([pair_logps(str(smollm2_dir), [p], 128, batch_size=1) for p in pairs])
    assert np.allclose(batched, single, atol=1e-3)
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    chat = [*pairs[1].prompt, {"role": "assistant", "content": "yes"}]
    ids = tok.apply_chat_template(chat, return_dict=False)
    start = len(
        tok.apply_chat_template(pairs[1].prompt, add_generation_prompt=True, return_dict=False)
    )
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1], -1)
    direct = sum(float(logp[t - 1, ids[t]]) for t in range(start, len(ids)))  # type: ignore[misc,index]
    assert batched[1, 0] == pytest.approx(direct, abs=1e-3)


@pytest.mark.model
@pytest.mark.slow
def test_dpo_shift_end_to_end(tmp_path: Path, shared_data: Path, smollm2_dir: Path) -> None:
    out = tmp_path / "shift"
    args = ["dpo-shift", "--data", f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}",
            "--out", str(out), "--train-pairs", "4", "--eval-pairs", "4", "--shifted-pairs", "3",
            "--shifted-topic", "theft", "--shifted-topic", "drugs", "--max-steps", "1",
            "--batch-size", "4", "--max-length", "96"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "shift.json").read_text())
    assert set(payload["results"]) == {"eval", "theft", "drugs", "shifted (all)"}
    assert payload["results"]["shifted (all)"]["n"] == 6
    for r in payload["results"].values():
        for m in ("standard", "robust"):
            assert r[m]["ci_low"] <= r[m]["value"] <= r[m]["ci_high"] and r[m]["n"] == r["n"]
    manifests = {
        m: json.loads((out / m / "manifest.json").read_text()) for m in ("standard", "robust")
    }
    assert manifests["robust"]["config"]["robust_radius"] == 0.5
    assert manifests["standard"]["config"]["robust_radius"] == 0.0
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.stderr.count("kept from an earlier run") == 2
    assert json.loads((out / "shift.json").read_text())["results"] == payload["results"]
    other = runner.invoke(app, [*args, "--robust-radius", "0.4"])
    assert other.exit_code == 2 and "trained with other settings" in other.stderr
    assert 'id="results"' in (out / "report.html").read_text()
