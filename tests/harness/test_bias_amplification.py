"""`harness bias-amplification`: the measures against independent computations, the checks
before any work, and (an experiment, minutes) the effect on the embedded model: DPO on the
labels of a judge that prefers the longer answer 90% of the time makes the policy's answers
longer than the base's, while DPO on the human labels of the same pairs does not."""

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.jobs.bias_amplification import (
    AmplificationConfig,
    amplification_ratio,
    axis_bias,
    axis_values,
    more_of,
    split_pairs,
)
from judges.scorers.style import words
from reports.amplification import render_amplification_report
from tests.support.fake_endpoint import FakeEndpoint
from tests.support.judge_prompts import answers
from trainers.data import PreferencePair, load_pairs

runner = CliRunner()


def longer_90(messages: list[dict]) -> str:
    """Prefers the answer with more words in 90% of pairs, the same in both orders."""
    a, b = answers(messages)
    if words(a) == words(b):
        return "[[C]]"
    draw = random.Random(hashlib.sha256(json.dumps(sorted([a, b])).encode()).digest()).random()
    longer, shorter = ("A", "B") if words(a) > words(b) else ("B", "A")
    return f"[[{longer if draw < 0.9 else shorter}]]"


def test_more_of_leaves_out_equal_pairs() -> None:
    length = lambda texts: axis_values(lambda t: float(len(t)), texts)  # noqa: E731
    more = more_of(length(["aa", "a", "bbb", "x"]), length(["a", "aa", "ccc", "yy"]))
    assert more.tolist() == [1.0, 0.0, 0.0]  # "bbb" vs "ccc" is equal: left out


def test_axis_bias_is_the_wilson_share() -> None:
    more = np.array([1.0] * 30 + [0.0] * 10)
    bias = axis_bias(more)
    z, p, n = 1.959964, 0.75, 40  # Wilson's score interval, written out
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)
    assert bias["value"] == 0.75 and bias["n"] == 40 and bias["note"] is None
    assert bias["ci_low"] == pytest.approx(low) and bias["ci_high"] == pytest.approx(high)
    assert axis_bias(np.array([1.0] * 5))["note"].startswith("n = 5: too few")
    assert axis_bias(np.array([]))["value"] is None


def test_amplification_ratio_against_a_direct_computation() -> None:
    labels = np.array([1.0] * 90 + [0.0] * 10)  # label bias 0.9
    outputs = np.array([1.0] * 28 + [0.0] * 12)  # output bias 0.7
    r = amplification_ratio(labels, outputs, n_bootstrap=4000, seed=1)
    assert r["value"] == pytest.approx((0.7 - 0.5) / (0.9 - 0.5))
    assert r["ci_low"] < r["value"] < r["ci_high"] and r["note"] is None
    # The bootstrap's spread comes mostly from the 40 prompts: a binomial's s.e. of 0.072 on
    # the output bias is 0.18 on the ratio, so the 95% CI is about +-0.35 wide each side.
    assert 0.2 < r["ci_high"] - r["value"] < 0.55 and 0.2 < r["value"] - r["ci_low"] < 0.55
    amplified = amplification_ratio(np.array([1.0] * 30 + [0.0] * 10), np.ones(40), 2000, 0)
    assert amplified["value"] == pytest.approx(2.0) and amplified["ci_low"] > 1


def test_no_zero_width_ratio_interval_from_unanimous_data() -> None:
    r = amplification_ratio(np.ones(40), np.ones(30), 1000, 0)
    assert r["value"] == 1.0 and r["ci_low"] is None and "no spread" in r["note"]


def test_no_ratio_without_a_clear_label_bias_or_enough_data() -> None:
    balanced = np.array([1.0, 0.0] * 30)
    r = amplification_ratio(balanced, np.ones(40), 1000, 0)
    assert r["value"] is None and "no clear bias" in r["note"]
    few = amplification_ratio(np.ones(40), np.ones(6), 1000, 0)
    assert few["value"] is None and few["note"].startswith("n = 6: too few")


def test_split_keeps_held_out_prompts_out_of_training(shared_data: Path) -> None:
    data = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    config = AmplificationConfig(data=data, judge="openai:j", out=Path("unused"))
    pairs = load_pairs(data)
    train, heldout = split_pairs(pairs, config)
    assert len(train) == 120 and len(heldout) == 40
    seen = {json.dumps(p.prompt) for p in train}
    assert not any(json.dumps(p.prompt) in seen for p in heldout)
    assert all(sum(len(m["content"]) for m in p.prompt) <= 400 for p in train + heldout)
    again, _ = split_pairs(pairs, config)
    assert [p.chosen for p in again] == [p.chosen for p in train]  # the seed fixes the split
    with pytest.raises(Exception, match="fewer than --train-pairs"):
        split_pairs(pairs[:50], config)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--train-pairs", "1"], "--train-pairs must be at least 2"),
        (["--beta", "0"], "--beta must be positive"),
        (["--template", "pointwise-v1"], "not a pairwise template"),
        (["--judge", "nonsense"], "nonsense"),
    ],
)
def test_bad_settings_stop_before_any_work(
    tmp_path: Path, shared_data: Path, flags: list[str], message: str
) -> None:
    out = tmp_path / "amp"
    judge = [] if flags[0] == "--judge" else ["--judge", "openai:j"]
    args = ["bias-amplification", "--data", f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}",
            *judge, "--out", str(out), "--store", str(tmp_path / "s.db"), *flags]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_missing_data_file_names_the_file(tmp_path: Path) -> None:
    out = tmp_path / "amp"
    result = runner.invoke(
        app,
        ["bias-amplification", "--data", f"hh-rlhf:{tmp_path / 'none.jsonl'}", "--judge",
         "openai:j", "--out", str(out), "--store", str(tmp_path / "s.db")],
    )  # fmt: skip
    assert result.exit_code == 2 and "none.jsonl" in result.stderr and not out.exists()


def test_failed_label_requests_stop_before_training(tmp_path: Path, shared_data: Path) -> None:
    """A judge request that fails is not a verdict: nothing is trained until a re-run has
    every pair judged (exit 3), and the judged ones are kept in the store."""
    out, store = tmp_path / "amp", tmp_path / "s.db"
    data = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    with FakeEndpoint(reply=longer_90, fault_rates={"500": 0.2}, seed=3) as ep:
        port = int(ep.url.rsplit(":", 1)[1].split("/")[0])  # the judge's identity includes it
        args = ["bias-amplification", "--data", data, "--judge", "openai:j", "--judge-base-url",
                ep.url, "--judge-max-retries", "0", "--out", str(out), "--store", str(store),
                "--train-pairs", "30", "--eval-prompts", "10"]  # fmt: skip
        result = runner.invoke(app, args)
        failed = ep.faults_served["500"]
        assert len(ep.requests) == 60 and 0 < failed < 60  # 30 pairs, both orders
    assert result.exit_code == 3, result.output
    assert "failed judge request" in result.stderr and "re-run" in result.stderr
    assert not (out / "human").exists() and not (out / "judge").exists()
    # A re-run asks only what failed (the answered ones come from the store); failing again,
    # it still trains nothing.
    with FakeEndpoint(reply=longer_90, fault_rates={"500": 1.0}, port=port) as ep:
        again = runner.invoke(app, args)
        assert len(ep.requests) == failed
    assert again.exit_code == 3 and not (out / "human").exists()


@pytest.mark.model
@pytest.mark.experiment
def test_judge_labels_pass_the_judge_length_bias_on(
    tmp_path: Path, shared_data: Path, smollm2_dir: Path
) -> None:
    out, store = tmp_path / "amp", tmp_path / "s.db"
    data = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    with FakeEndpoint(reply=longer_90) as ep:
        args = ["bias-amplification", "--data", data, "--judge", "openai:longer",
                "--judge-base-url", ep.url, "--out", str(out), "--store", str(store),
                "--train-pairs", "64", "--max-steps", "8", "--max-length", "160",
                "--learning-rate", "1e-4", "--eval-prompts", "30", "--max-new-tokens", "96"]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        payload = json.loads((out / "amplification.json").read_text())

        # Labels: the judge's length bias is the planted 0.9, the humans' a recount.
        length = payload["axes"]["length"]
        assert length["labels"]["judge"]["ci_low"] <= 0.9 <= length["labels"]["judge"]["ci_high"]
        human = [json.loads(line) for line in (out / "human-pairs.jsonl").read_text().splitlines()]
        more = [
            words(p["chosen"]) > words(p["rejected"])
            for p in human
            if words(p["chosen"]) != words(p["rejected"])
        ]
        assert length["labels"]["human"]["value"] == pytest.approx(np.mean(more))
        assert length["labels"]["human"]["ci_low"] < 0.5 < length["labels"]["human"]["ci_high"]

        # The effect: the judge-trained policy writes longer answers than the base on
        # held-out prompts, and the judge prefers them; the human-trained one does not move
        # along length clearly, and without a label bias it has no ratio.
        judge_policy = length["policies"]["judge"]
        assert judge_policy["output_bias"]["ci_low"] > 0.5
        assert judge_policy["minus_base"]["ci_low"] > 0
        assert payload["judge_preference"]["judge"]["ci_low"] > 0.5
        assert length["policies"]["human"]["amplification"]["value"] is None
        ratio = judge_policy["amplification"]
        expected = (judge_policy["output_bias"]["value"] - 0.5) / (
            length["labels"]["judge"]["value"] - 0.5
        )
        assert (
            ratio["value"] == pytest.approx(expected)
            and ratio["ci_low"] < ratio["value"] < ratio["ci_high"]
        )

        # Held out means held out: no answered prompt was in a training pair.
        trained = {json.dumps(p["prompt"]) for p in human}
        heldout = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
        assert not any(json.dumps(h["messages"]) in trained for h in heldout)

        # A re-run (here through the Python API) resumes: nothing trained, asked or generated.
        import harness

        asked = len(ep.requests)
        again = harness.bias_amplification(
            AmplificationConfig(data=data, judge="openai:longer", judge_base_url=ep.url, out=out,
                                store=store, train_pairs=64, max_steps=8, max_length=160,
                                learning_rate=1e-4, eval_prompts=30, max_new_tokens=96)
        )  # fmt: skip
        assert len(ep.requests) == asked and again["judge"]["usage"]["cached"] == 2 * 64
        rewritten = json.loads((out / "amplification.json").read_text())
        assert {k: v for k, v in rewritten.items() if k not in ("seconds", "judge")} == {
            k: v for k, v in payload.items() if k not in ("seconds", "judge")
        }

    summary = (out / "summary.md").read_text()
    assert "the judge-trained policy took up more of it" in summary
    payload["config"]["judge"] = "<script>alert(1)</script>"
    html = render_amplification_report(payload)
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_pairs_flip_with_the_judge() -> None:
    """The judge's label set keeps a pair where the judge sided with the humans and swaps
    chosen and rejected where it did not (the measure of its bias counts the swapped)."""
    pair = PreferencePair([{"role": "user", "content": "q"}], "short", "a much longer answer")
    flipped = PreferencePair(pair.prompt, pair.rejected, pair.chosen)
    count = lambda text: axis_values(lambda t: float(words(t)), [text])  # noqa: E731
    assert more_of(count(flipped.chosen), count(flipped.rejected)).tolist() == [1.0]
