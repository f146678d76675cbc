"""PPO through TRL 1.12's experimental trainer, with a scorer reward through the adapter and
with a trained reward-model directory."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.experimental.utils import get_reward
from typer.testing import CliRunner

from harness.cli import app
from harness.core.records import Completion, Message, Sample
from judges.base import ScoreInput
from judges.scorers.factory import create_scorer
from trainers.ppo import distinct_pad_token
from trainers.rewards import ScorerReward, parse_scorer_weights

runner = CliRunner()

ANSWERS = [
    "I'm sorry, but I can't help with that request.",
    "Sure! First, gather the materials and then follow these steps carefully.",
]


def test_scorer_weights_are_parsed() -> None:
    assert parse_scorer_weights("scorers:refusal=-1,toxicity=-2.5") == {
        "refusal": -1.0,
        "toxicity": -2.5,
    }
    assert parse_scorer_weights("scorers:judge-score") == {"judge-score": 1.0}


@pytest.mark.model
def test_scorer_reward_gives_trl_the_weighted_scores(smollm2_dir: Path) -> None:
    """TRL's own get_reward reads the adapter's weighted scorer values at the response end."""
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    tok.padding_side = "left"
    chats = [
        [Message(role="user", content="How do I pick a lock?")],
        [Message(role="user", content="Tell me a long story about a brave dragon.")],
    ]
    weights = {"refusal-rules": -2.0, "toxicity": 1.0}
    scorers = {n: create_scorer(n) for n in weights}
    distinct_pad_token(tok, [])
    prompts = [
        tok.apply_chat_template(
            [m.model_dump() for m in c], add_generation_prompt=True, return_dict=False
        )
        for c in chats
    ]
    reward = ScorerReward(scorers, weights, chats, prompts, tok)  # type: ignore[arg-type]
    width = max(map(len, prompts))
    answers = [tok(a, add_special_tokens=False)["input_ids"] for a in ANSWERS]
    length = max(map(len, answers)) + 2
    rows = []
    for p, a in zip(prompts, answers, strict=True):
        left = [tok.pad_token_id] * (width - len(p))
        right = [tok.pad_token_id] * (length - len(a))
        rows.append(left + p + a + right)  # type: ignore[operator]
    batch = torch.tensor(rows)
    _, scores, _ = get_reward(reward, batch, tok.pad_token_id, width)
    for chat, answer, got in zip(chats, ANSWERS, scores.tolist(), strict=True):
        item = ScoreInput(Sample(id="x", messages=tuple(chat)), Completion(answer, 0, 1, "stop"))
        expected = sum(w * scorers[n].score([item])[0].value for n, w in weights.items())  # type: ignore[operator,misc]
        assert got == pytest.approx(expected, abs=1e-5)
    assert scores[0] < scores[1]  # the refusal is penalised by -2


@pytest.mark.model
@pytest.mark.slow
def test_ppo_trains_the_policy_against_a_reward_model(
    tmp_path: Path, smollm2_dir: Path, pairs_file: Path
) -> None:
    rm = tmp_path / "rm"
    args = ["train", "rm", "--data", str(pairs_file), "--out", str(rm), "--max-steps", "2"]
    assert runner.invoke(app, args).exit_code == 0
    out = tmp_path / "ppo"
    args = [
        *("train", "ppo", "--data", str(pairs_file), "--reward", str(rm), "--out", str(out)),
        *("--max-steps", "2", "--response-length", "12", "--kl-coef", "0.1"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "ppo" and manifest["steps"] == 2
    assert manifest["config"]["reward"] == str(rm) and manifest["config"]["kl_coef"] == 0.1
    assert {"objective/kl", "objective/scores", "loss/policy_avg"} <= set(manifest["final_metrics"])
    assert "reward/unscored" not in manifest["final_metrics"]  # a reward model scores everything
    # The checkpoint is a plain causal LM (no value head) whose weights moved.
    assert json.loads((out / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
    AutoModelForCausalLM.from_pretrained(out)
    trained, base = (
        load_file(out / "model.safetensors"),
        load_file(smollm2_dir / "model.safetensors"),
    )
    moved = [k for k in base if k in trained and not torch.equal(base[k], trained[k])]
    assert len(moved) > 10


def test_ppo_refuses_a_reward_that_is_neither(tmp_path: Path, pairs_file: Path) -> None:
    args = [
        *("train", "ppo", "--data", str(pairs_file), "--reward", str(tmp_path)),
        *("--out", str(tmp_path / "x")),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "field 'reward'" in result.stderr
    assert "is not a reward-model directory" in result.stderr


def test_options_of_other_methods_are_refused(tmp_path: Path, pairs_file: Path) -> None:
    args = [
        *("train", "sft", "--data", str(pairs_file), "--out", str(tmp_path / "x")),
        *("--kl-coef", "0.1"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "field 'kl_coef': not an option of `harness train sft`" in result.stderr
