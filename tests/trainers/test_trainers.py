"""`harness train` on tiny data: each method runs a few TRL steps on the embedded model,
and the effect is checked independently of TRL's own logs."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from typer.testing import CliRunner

from harness.cli import app

pytestmark = [pytest.mark.model, pytest.mark.slow]
runner = CliRunner()


def answer_logprob(model_dir: Path | str, prompt: str, answer: str) -> float:
    """Sum of the answer tokens' log-probabilities after the chat-templated prompt."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    head = tok.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    ids = tok(head + answer, return_tensors="pt", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    n_head = len(tok(head, add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1], -1)
    targets = ids[0, 1:]
    return float(logp[n_head - 1 :].gather(1, targets[n_head - 1 :, None]).sum())


def test_dpo_prefers_chosen_answers(
    tmp_path: Path, pairs_file: Path, pairs: list, smollm2_dir: Path
) -> None:
    out = tmp_path / "dpo"
    args = ["train", "dpo", "--data", str(pairs_file), "--out", str(out), "--max-steps", "4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "dpo" and manifest["steps"] == 4
    assert manifest["final_metrics"]["rewards/accuracies"] > 0.5
    assert manifest["data"]["sha256"] and manifest["config"]["beta"] == 0.1

    def margin(model_dir: Path | str) -> float:
        return sum(
            answer_logprob(model_dir, p, c) - answer_logprob(model_dir, p, r) for p, c, r in pairs
        )

    assert margin(out) > margin(smollm2_dir) + 1.0  # the policy moved toward the chosen answers
    run = runner.invoke(
        app,
        [
            *("run", "--model", str(out), "--suite", "harmful-smoke", "--limit", "2"),
            *(
                "--max-new-tokens",
                "8",
                "--scorers",
                "refusal-rules",
                "--out",
                str(tmp_path / "eval"),
            ),
        ],
    )
    assert run.exit_code == 0, run.output
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["manifest"]["training"]["method"] == "dpo"
    assert "dpo from smollm2" in (tmp_path / "eval" / "report.html").read_text()


def test_reward_model_ranks_its_training_pairs(
    tmp_path: Path, pairs_file: Path, pairs: list
) -> None:
    out = tmp_path / "rm"
    args = ["train", "rm", "--data", str(pairs_file), "--out", str(out), "--max-steps", "6"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForSequenceClassification.from_pretrained(out, dtype=torch.float32).eval()

    def reward(prompt: str, answer: str) -> float:
        chat = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        ids = tok.apply_chat_template(chat, tokenize=True, return_dict=True, return_tensors="pt")
        with torch.no_grad():
            return float(model(**ids).logits[0, 0])  # type: ignore[arg-type]

    correct = sum(reward(p, c) > reward(p, r) for p, c, r in pairs)
    assert correct >= 3  # above chance (2 of 4) on the pairs it was trained on


def test_sft_lowers_loss_on_its_data(
    tmp_path: Path, pairs_file: Path, pairs: list, smollm2_dir: Path
) -> None:
    out = tmp_path / "sft"
    args = ["train", "sft", "--data", str(pairs_file), "--out", str(out), "--max-steps", "4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output

    def nll(model_dir: Path | str) -> float:
        return -sum(answer_logprob(model_dir, p, c) for p, c, _ in pairs)

    assert nll(out) < nll(smollm2_dir)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--loss-type", "nope"], "loss_type must be one of"),
        (["--max-steps", "0"], "field 'max_steps'"),
    ],
)
def test_bad_training_options(
    tmp_path: Path, pairs_file: Path, extra: list[str], message: str
) -> None:
    args = ["train", "dpo", "--data", str(pairs_file), "--out", str(tmp_path / "x"), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("method", ["sft", "rm", "dpo", "ppo"])
def test_bad_training_data_is_refused_before_any_model_loads(
    tmp_path: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trainers.method

    def no_model(spec: str) -> None:
        raise AssertionError("a model was loaded before the data was read")

    monkeypatch.setattr(trainers.method, "resolve_model", no_model)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": 7}\n')
    args = ["train", method, "--data", str(bad), "--out", str(tmp_path / "x")]
    if method == "ppo":
        args += ["--reward", "scorers:refusal=1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {bad}:2: "), result.stderr
    assert not (tmp_path / "x").exists()


def test_judge_client_flags_reach_the_feedback_judge_and_are_refused_where_none_judges(
    tmp_path: Path, pairs_file: Path
) -> None:
    from trainers.config import build_config

    cai = build_config(
        "cai",
        None,
        data=str(pairs_file),
        out=tmp_path / "c",
        judge_timeout=900.0,
        judge_concurrency=2,
    )
    assert cai.judge_client.timeout == 900 and cai.judge_client.concurrency == 2  # type: ignore[attr-defined]
    args = ["train", "dpo", "--data", str(pairs_file), "--out", str(tmp_path / "x")]
    result = runner.invoke(app, [*args, "--judge-timeout", "5"])
    assert result.exit_code == 2 and "field 'judge_client'" in result.stderr
