"""KLDPO: the worst-case weights against an independent optimiser, the loss's gradient,
and the trainer's batch loss against TRL's own per-pair DPO losses."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from typer.testing import CliRunner

from harness.cli import app
from trainers.robust_dpo import (
    kl_dro_loss,
    kl_dro_temperature,
    kl_dro_weights,
    wasserstein_penalty,
)

runner = CliRunner()


def worst_case(losses: np.ndarray, radius: float) -> float:
    """max sum_i w_i l_i over the simplex with KL(w || uniform) <= radius, by SLSQP."""
    n = len(losses)

    def kl(w: np.ndarray) -> float:
        w = np.clip(w, 1e-12, 1)
        return float((w * np.log(w * n)).sum())

    best = minimize(
        lambda w: -float(w @ losses),
        np.full(n, 1 / n),
        method="SLSQP",
        bounds=[(0, 1)] * n,
        constraints=[
            {"type": "eq", "fun": lambda w: w.sum() - 1},
            {"type": "ineq", "fun": lambda w: radius - kl(w)},
        ],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    return -float(best.fun)


@pytest.mark.parametrize("radius", [0.01, 0.1, 0.5, 1.2])
def test_weights_are_the_worst_case_in_the_ball(radius: float) -> None:
    losses = np.random.default_rng(7).exponential(1.0, 8)
    w = kl_dro_weights(losses, radius)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert float((w * np.log(w * 8)).sum()) == pytest.approx(radius, rel=1e-3)  # ball boundary
    assert float(w @ losses) == pytest.approx(worst_case(losses, radius), rel=1e-4)
    tau = kl_dro_temperature(losses, radius)
    dual = tau * (math.log(np.mean(np.exp(losses / tau)))) + tau * radius
    assert dual == pytest.approx(float(w @ losses), rel=1e-4)  # strong duality


def test_limits_of_the_radius() -> None:
    losses = np.array([0.2, 0.9, 0.4, 0.9])
    assert kl_dro_weights(losses, 0.0) == pytest.approx(np.full(4, 0.25))
    assert kl_dro_weights(losses, 5.0) == pytest.approx([0, 0.5, 0, 0.5])  # beyond log n
    assert kl_dro_weights(np.ones(3), 0.3) == pytest.approx(np.full(3, 1 / 3))


def test_loss_gradient_is_the_weighted_gradient() -> None:
    theta = torch.tensor([0.3, -1.2, 2.0, 0.7], requires_grad=True)
    x = torch.tensor([[1.0, 0.5, -0.3, 2.0], [0.2, -1.0, 0.4, 0.1], [-0.7, 0.3, 1.5, -0.2]])
    losses = torch.nn.functional.softplus(x @ theta)
    loss, _ = kl_dro_loss(losses, 0.2)
    (grad,) = torch.autograd.grad(loss, theta)
    w = torch.tensor(kl_dro_weights(losses.detach().numpy(), 0.2), dtype=torch.float32)
    (expected,) = torch.autograd.grad((w * torch.nn.functional.softplus(x @ theta)).sum(), theta)
    assert torch.allclose(grad, expected, atol=1e-5)


def test_wasserstein_penalty_is_the_input_gradient_norm() -> None:
    """l_i = softplus(w . (c_i - r_i)) over pair i's chosen and rejected inputs: the input
    gradient is +-sigmoid(.) w on each row, so ||grad_i||^2 = 2 sigmoid(.)^2 ||w||^2."""
    w = torch.tensor([0.5, -1.0, 2.0])
    x = torch.tensor(
        [[[1.0, 0.2, -0.3]], [[0.0, 1.0, 0.5]], [[0.3, 0.3, 0.3]], [[-1.0, 0.4, 0.0]]],
        requires_grad=True,
    )  # (2 pairs x 2 rows, 1 token, 3 dims): chosen rows first
    scores = (x * w).sum(dim=(1, 2))
    losses = torch.nn.functional.softplus(scores[:2] - scores[2:])
    penalty = wasserstein_penalty(losses, x, 0.1)
    margins = (scores[:2] - scores[2:]).detach()
    expected = 0.1 * torch.sqrt((2 * torch.sigmoid(margins) ** 2 * w.pow(2).sum()).mean())
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()  # stays differentiable (second-order terms)
    assert x.grad is not None


@pytest.mark.model
@pytest.mark.slow
def test_trainer_loss_matches_trl_per_pair_losses(tmp_path: Path, pairs_file: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.engines.models import resolve_model
    from trainers.config import DPOTrainConfig
    from trainers.data import load_pairs
    from trainers.dpo import build_dpo as _dpo

    base = Path(resolve_model("smollm2").path)
    tok = AutoTokenizer.from_pretrained(base)

    def build(radius: float):
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
        config = DPOTrainConfig(data=str(pairs_file), out=tmp_path / "o", robust_radius=radius)
        trainer, _ = _dpo(config, model, tok, base, load_pairs(config.data, config.limit))
        torch.manual_seed(0)
        with torch.no_grad():  # move the policy away from its frozen reference
            for p in trainer.model.model.layers[-1].parameters():
                p.add_(0.02 * torch.randn_like(p))
        trainer.model.eval()
        return trainer

    rows = [build(0.0).train_dataset[i] for i in range(4)]
    standard = build(0.0)
    with torch.no_grad():
        per_pair = np.array(
            [
                float(standard._compute_loss(standard.model, standard.data_collator([r]), False))
                for r in rows
            ]
        )
    assert per_pair.std() > 1e-3
    robust = build(0.3)
    with torch.no_grad():
        loss = float(robust._compute_loss(robust.model, robust.data_collator(rows), False))
    assert loss == pytest.approx(worst_case(per_pair, 0.3), rel=2e-3)
    assert per_pair.mean() < loss < per_pair.max()


@pytest.mark.model
@pytest.mark.slow
def test_train_dpo_with_a_kl_radius(tmp_path: Path, pairs_file: Path, smollm2_dir: Path) -> None:
    out = tmp_path / "kldpo"
    args = ["train", "dpo", "--data", str(pairs_file), "--out", str(out), "--max-steps", "2",
            "--batch-size", "4", "--robust-radius", "0.3"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["robust_radius"] == 0.3
    assert 0.25 <= manifest["final_metrics"]["robust/max_weight"] <= 1.0
    bad = runner.invoke(
        app, [*args[:5], str(tmp_path / "x"), "--loss-type", "ipo", "--robust-radius", "0.3"]
    )
    assert bad.exit_code == 2 and "use loss_type sigmoid" in bad.stderr
    wdpo = tmp_path / "wdpo"
    args = [*args[:5], str(wdpo), "--max-steps", "1", "--batch-size", "4",
            "--robust-ball", "wasserstein", "--robust-radius", "0.05"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((wdpo / "manifest.json").read_text())["final_metrics"]
    assert metrics["robust/gradient_penalty"] > 0
