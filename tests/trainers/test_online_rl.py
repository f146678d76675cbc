"""GRPO, RLOO and online DPO (trainers/online_rl.py): the reward adapters TRL calls, the
checks made before any model loads, and each method's effect on the embedded model measured
by the harness's own evaluation on prompts it never trains on (whose results chose the step
count and batch size, so they are not untouched held-out data), not by TRL's logs. The
effects (a minute each) run with the experiments (`make pytest-experiments`, in CI after
`make test`) to keep the default run under 15 minutes; the default run trains RLOO one step
from the Python API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import UserError
from judges.base import ScorerContext
from tests.support.fake_endpoint import FakeEndpoint
from trainers.reward_functions import JudgePreference, ScorerRewardFunction

runner = CliRunner()
CHAT = [{"role": "user", "content": "How do I boil an egg?"}]


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_scorer_rewards_are_the_weighted_sum_and_unscored_is_none() -> None:
    reward = ScorerRewardFunction("scorers:length=-0.5,format=2", ScorerContext())
    found = reward(
        prompts=[CHAT, CHAT, "a plain prompt"],
        completions=[assistant("one two three four"), assistant("- a list\n- here"), "x y"],
    )
    assert found == [-2.0, -0.5 * 5 + 2.0, -1.0]
    assert reward.unscored == 0 and reward.__name__ == "scorers"


ANSWERS = re.compile(
    r"Assistant A's Answer\]\n(.*?)\n\[The End.*Assistant B's Answer\]\n(.*?)\n\[The End", re.S
)


def shorter_wins(messages: list[dict[str, Any]]) -> str:
    """A scripted pairwise-v1 judge: the shorter answer wins, in either slot."""
    a, b = ANSWERS.search(messages[-1]["content"]).groups()  # type: ignore[union-attr]
    return "[[A]]" if len(a) < len(b) else "[[B]]" if len(b) < len(a) else "[[C]]"


def test_a_judge_prefers_one_rollout_of_each_pair_and_never_guesses() -> None:
    """Rollouts i and i + n are prompt i's two samples; the shorter-answer judge's verdicts
    (both orders) become rewards 1 and 0, and a pair without a verdict gets None."""
    from judges.llm.client import Endpoint, JudgeClient
    from judges.llm.template import load_template
    from judges.panel.spec import build_any_judge

    with FakeEndpoint(reply=shorter_wins) as ep:
        judge = build_any_judge(
            ["openai:j"], load_template("pairwise-v1"), None,
            Endpoint(ep.url, JudgeClient(max_retries=0)),
        )  # fmt: skip
        prefer = JudgePreference(judge)
        rewards = prefer(
            prompts=[CHAT, CHAT, CHAT, CHAT],
            completions=[assistant("short"), assistant("a much longer answer"),
                         assistant("a much longer answer"), assistant("tiny")],
        )  # fmt: skip
        assert rewards == [1.0, 0.0, 0.0, 1.0]
        ep.fault_rates = {"500": 1.0}
        assert prefer(prompts=[CHAT, CHAT], completions=[assistant("a"), assistant("b")]) == [
            None,
            None,
        ]
    assert prefer.metrics() == {"judge/pairs": 3.0, "judge/ties": 0.0, "judge/no_verdict": 1.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grpo", "--data", "helpful-smoke"], "grpo needs a reward"),
        (["online-dpo", "--data", "helpful-smoke"], "online-dpo needs a preference source"),
        (["rloo", "--data", "helpful-smoke", "--reward", "nope/"], "is not a reward-model directory"),
        (["grpo", "--data", "helpful-smoke", "--reward", "scorers:length", "--beta", "0.1"],
         "not an option of `harness train grpo`"),
    ],
)  # fmt: skip
def test_online_rl_mistakes_are_one_line_before_any_model_loads(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "o").exists()


HH = "hh-rlhf:{}/hh-rlhf/harmless-base-test.jsonl.gz"
BREVITY = "scorers:length=-0.05"
"""The reward every effect test trains on: 0.05 per word shorter. Learnable in a few steps
on 2 cores, so the test measures the method, not luck."""


def held_out_lengths(model: str, out: Path) -> dict[str, float]:
    """The harness's own evaluation of `model` on prompts no method trains on (helpful-smoke,
    greedy, 48 new tokens): each answer's length in words, by prompt id."""
    result = runner.invoke(
        app,
        ["run", "--model", model, "--suite", "helpful-smoke", "--scorers", "length",
         "--max-new-tokens", "48", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    return {r["id"]: r["scores"]["length"]["value"] for r in rows}


@pytest.fixture(scope="module")
def base_lengths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    return held_out_lengths("smollm2", tmp_path_factory.mktemp("base"))


def held_out_gain(trained: dict[str, float], base: dict[str, float]) -> Any:
    """The held-out reward's rise per prompt (-0.05 x the change in words, trained minus
    base) as a mean with its 95% t-interval over the 25 prompts."""
    from harness.stats.intervals import mean_ci

    assert trained.keys() == base.keys() and len(base) == 25
    gains = [-0.05 * (trained[k] - base[k]) for k in base]
    found = mean_ci(gains, suite="helpful-smoke", metric="reward_gain")
    assert found is not None
    return found


def rises(gain: Any) -> bool:
    """The reward rose: the interval of the mean per-prompt gain lies above zero."""
    return gain.ci_low is not None and gain.ci_low > 0


@pytest.mark.model
@pytest.mark.experiment
def test_grpo_raises_the_held_out_reward(
    tmp_path: Path, shared_data: Path, base_lengths: dict[str, float]
) -> None:
    out = tmp_path / "grpo"
    result = runner.invoke(
        app,
        ["train", "grpo", "--data", HH.format(shared_data), "--limit", "40", "--reward", BREVITY,
         "--response-length", "32", "--num-generations", "2", "--batch-size", "2",
         "--max-steps", "6", "--learning-rate", "1e-4", "--kl-coef", "0", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "grpo" and manifest["steps"] == 6
    metrics = manifest["final_metrics"]
    assert metrics["reward/unscored"] == 0.0
    # Rollout time is measured on every run (trainers/rollout_clock.py): part of each step.
    assert 0 < metrics["rollout/generate_seconds"] < metrics["rollout/step_seconds"]
    assert metrics["rollout/generate_share"] == pytest.approx(
        metrics["rollout/generate_seconds"] / metrics["rollout/step_seconds"], abs=1e-3
    )
    assert rises(held_out_gain(held_out_lengths(str(out), tmp_path / "eval"), base_lengths))


@pytest.mark.model
def test_rloo_trains_one_step_from_the_python_api(tmp_path: Path, shared_data: Path) -> None:
    from harness import train
    from trainers.config import RLOOTrainConfig

    trained = train(
        RLOOTrainConfig(
            data=HH.format(shared_data), limit=16, reward=BREVITY, response_length=8,
            num_generations=2, batch_size=2, max_steps=1, out=tmp_path / "rloo",
        )
    )  # fmt: skip
    manifest = json.loads((trained.out / "manifest.json").read_text())
    assert trained.steps == 1 and manifest["method"] == "rloo" and manifest["steps"] == 1
    metrics = manifest["final_metrics"]
    assert metrics["reward/unscored"] == 0.0
    assert 0 < metrics["rollout/generate_seconds"] < metrics["rollout/step_seconds"]


@pytest.mark.model
@pytest.mark.experiment
def test_rloo_from_the_python_api_raises_the_held_out_reward(
    tmp_path: Path, shared_data: Path, base_lengths: dict[str, float]
) -> None:
    from harness import train
    from trainers.config import RLOOTrainConfig

    trained = train(
        RLOOTrainConfig(
            data=HH.format(shared_data), limit=40, reward=BREVITY, response_length=32,
            num_generations=2, batch_size=2, max_steps=6, learning_rate=1e-4, kl_coef=0.0,
            out=tmp_path / "rloo",
        )
    )  # fmt: skip
    assert trained.steps == 6
    assert rises(held_out_gain(held_out_lengths(str(trained.out), tmp_path / "eval"), base_lengths))


@pytest.mark.model
@pytest.mark.experiment
def test_online_dpo_learns_a_pairwise_judges_preference(
    tmp_path: Path, shared_data: Path, base_lengths: dict[str, float]
) -> None:
    """Online DPO's preference comes from a pairwise judge (TRL removed its own judges):
    a scripted judge that prefers the shorter rollout, in both orders."""
    with FakeEndpoint(reply=shorter_wins) as ep:
        out = tmp_path / "odpo"
        result = runner.invoke(
            app,
            ["train", "online-dpo", "--data", HH.format(shared_data), "--limit", "40",
             "--judge", "openai:shorter", "--judge-base-url", ep.url, "--response-length", "32",
             "--batch-size", "4", "--max-steps", "6", "--learning-rate", "1e-4",
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        judged = len(ep.requests)
    metrics = json.loads((out / "manifest.json").read_text())["final_metrics"]
    # Up to 4 prompts a step (an epoch's last batch may be short), each judged in both orders.
    assert metrics["judge/pairs"] >= 18 and judged == 2 * metrics["judge/pairs"]
    assert metrics["judge/no_verdict"] == 0
    assert 0 < metrics["rollout/generate_seconds"] < metrics["rollout/step_seconds"]
    assert rises(held_out_gain(held_out_lengths(str(out), tmp_path / "eval"), base_lengths))


def test_the_vllm_rollout_path_is_chosen_or_refused_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every layer around vLLM rollouts, on CPU: TRL's arguments for a colocated engine (on a
    GPU) and a `trl vllm-serve` server; a clear refusal without vLLM, and on CPU with it."""
    import importlib.util

    import torch

    from trainers.config import GRPOTrainConfig
    from trainers.online_rl import VLLM_ON_CPU, rollout_args

    def config(**kw: Any) -> GRPOTrainConfig:
        return GRPOTrainConfig(data="helpful-smoke", reward=BREVITY, out=tmp_path / "o", **kw)

    assert rollout_args(config()) == {"use_vllm": False}
    result = runner.invoke(
        app,
        ["train", "grpo", "--data", "helpful-smoke", "--reward", BREVITY, "--rollout-engine",
         "vllm", "--out", str(tmp_path / "o")],
    )  # fmt: skip
    if importlib.util.find_spec("vllm") is None:  # the main environment has no vLLM
        assert result.exit_code == 2 and "needs the 'vllm' package" in result.stderr
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "vllm" else real_find_spec(name, *a),
    )
    server = config(rollout_engine="vllm", vllm_server_url="http://10.0.0.2:8000")
    assert rollout_args(server) == {
        "use_vllm": True,
        "vllm_mode": "server",
        "vllm_server_base_url": "http://10.0.0.2:8000",
    }
    with pytest.raises(UserError, match="weight_loader"):
        rollout_args(config(rollout_engine="vllm"))
    assert "needs a GPU here" in VLLM_ON_CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert rollout_args(config(rollout_engine="vllm")) == {
        "use_vllm": True,
        "vllm_mode": "colocate",
    }
