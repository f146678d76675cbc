"""Distributionally robust DPO (Xu et al. 2025, "Distributionally Robust Direct Preference
Optimization"): KLDPO and WDPO.

Standard DPO minimises the mean pairwise loss over the empirical preference distribution.
KLDPO minimises the worst case over every reweighting of the batch within a KL ball of
radius rho around it:

    max_{w : KL(w || uniform) <= rho}  sum_i w_i l_i
      = min_{tau > 0}  tau * log mean_i exp(l_i / tau) + tau * rho        (convex dual)

The optimal weights are w_i = softmax(l_i / tau*): pairs the policy currently gets most
wrong weigh most, so the policy is pushed to do well on every sub-population the batch
could have been drawn from, not only on the average one. Per batch the temperature tau* is
found from the radius (a one-dimensional convex problem, solved on the detached losses);
the loss is then the dual objective at tau*, whose gradient is the w-weighted sum of the
pairwise losses' gradients. Radius 0 is standard DPO (uniform weights).

WDPO takes the worst case over a Wasserstein-2 ball of radius rho around the data instead,
moving the inputs rather than reweighting them. For a small radius that worst case is, to
first order (Gao, Chen & Kleywegt 2017), the mean loss plus rho times the root mean square
of each pair's input gradient norm:

    mean_i l_i + rho * sqrt(mean_i ||grad_x l_i||^2)

with x the input token embeddings of the pair's two sequences. The penalty's gradient
needs a second backward pass through the model, so WDPO runs attention in eager mode
(PyTorch's fused CPU attention has no double backward); in evaluation, where no gradient
is taken, the reported loss is the plain mean.

Built as a subclass of TRL's DPOTrainer overriding only the loss computation; data
handling, the reference model, LoRA and the training loop are TRL's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from trainers.common import trl_module


def kl_dro_temperature(losses: np.ndarray, radius: float) -> float:
    """tau* minimising tau * log mean exp(l / tau) + tau * radius (inf when radius is 0 or
    the losses are all equal: the worst case is then the uniform weighting)."""
    losses = np.asarray(losses, dtype=float)
    if radius <= 0 or losses.size < 2 or np.ptp(losses) == 0:
        return math.inf
    n = losses.size
    if radius >= math.log(n):
        return 0.0  # the ball holds the point mass on the largest loss

    def dual(log_tau: float) -> float:
        tau = math.exp(log_tau)
        return float(tau * (logsumexp(losses / tau) - math.log(n)) + tau * radius)

    spread = float(np.ptp(losses))
    found = minimize_scalar(
        dual, bounds=(math.log(spread * 1e-4), math.log(spread * 1e4)), method="bounded"
    )
    return float(math.exp(found.x))


def kl_dro_weights(losses: np.ndarray, radius: float) -> np.ndarray:
    """The worst-case weights of the batch within the KL ball (uniform at radius 0)."""
    return weights_at_temperature(losses, kl_dro_temperature(losses, radius))


def weights_at_temperature(losses: np.ndarray, tau: float) -> np.ndarray:
    """softmax(losses / tau): uniform at tau = inf, the largest losses alone at tau = 0."""
    losses = np.asarray(losses, dtype=float)
    if math.isinf(tau):
        return np.full(losses.size, 1.0 / losses.size)
    if tau == 0.0:
        w = (losses == losses.max()).astype(float)
        weights: np.ndarray = w / w.sum()
        return weights
    z = losses / tau
    found: np.ndarray = np.exp(z - logsumexp(z))
    return found


def kl_dro_loss(losses: Any, radius: float) -> tuple[Any, float]:
    """The robust batch loss (a torch scalar) and the temperature used."""
    import torch

    tau = kl_dro_temperature(losses.detach().float().cpu().numpy(), radius)
    if math.isinf(tau):
        return losses.mean(), tau
    if tau == 0.0:
        return losses.max(), tau
    n = losses.numel()
    return tau * (torch.logsumexp(losses / tau, dim=0) - math.log(n)) + tau * radius, tau


def sequence_logps(logits: Any, input_ids: Any, completion_mask: Any) -> Any:
    """Summed log-probabilities of each row's completion tokens."""
    trl_module()
    from trl.trainer.utils import selective_log_softmax

    per_token = selective_log_softmax(logits[..., :-1, :], input_ids[..., 1:])
    return (per_token * completion_mask[..., 1:]).sum(dim=1)


def wasserstein_penalty(losses: Any, embeds: Any, radius: float) -> Any:
    """rho * sqrt(mean over pairs of ||d l_i / d x_i||^2); `embeds` holds the chosen rows,
    then the rejected rows, of the batch (TRL's layout), and stays in the graph."""
    import torch

    (grad,) = torch.autograd.grad(losses.sum(), embeds, create_graph=True)
    squared = grad.pow(2).sum(dim=tuple(range(1, grad.dim())))
    n = losses.numel()
    per_pair = squared[:n] + squared[n:]
    return radius * torch.sqrt(per_pair.mean() + 1e-12)


def _batch_loss(ball: str, radius: float, losses: Any, embeds: Any, metrics: Any) -> Any:
    """The robust batch loss: KLDPO's worst case over the KL ball, or the mean plus WDPO's
    gradient penalty (only while gradients are on); records its diagnostics in `metrics`."""
    if ball == "kl":
        loss, tau = kl_dro_loss(losses, radius)
        weights = weights_at_temperature(losses.detach().float().cpu().numpy(), tau)
        metrics["robust/max_weight"].append(float(weights.max()))
        metrics["robust/temperature"].append(tau if math.isfinite(tau) else -1.0)
        return loss
    if embeds is not None:
        penalty = wasserstein_penalty(losses, embeds, radius)
        metrics["robust/gradient_penalty"].append(penalty.item())
        return losses.mean() + penalty
    return losses.mean()


def robust_dpo_trainer_class() -> type:
    """`RobustDPOTrainer`: TRL's DPOTrainer with the KLDPO or WDPO batch loss (built lazily
    so importing this module does not import TRL)."""
    trl = trl_module()

    class RobustDPOTrainer(trl.DPOTrainer):  # type: ignore[name-defined,misc]
        """DPOTrainer whose batch loss is the worst case over a KL (KLDPO) or Wasserstein
        (WDPO) ball of `robust_radius` around the batch."""

        def __init__(
            self, *args: Any, robust_radius: float, robust_ball: str = "kl", **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            if self.loss_types != ["sigmoid"] or self.ld_alpha is not None:
                raise ValueError("robust DPO works on the sigmoid loss: use loss_type sigmoid")
            if robust_ball not in ("kl", "wasserstein"):
                raise ValueError("robust_ball must be 'kl' or 'wasserstein'")
            self.robust_radius = robust_radius
            self.robust_ball = robust_ball

        def _compute_loss(self, model: Any, inputs: Any, return_outputs: bool) -> Any:
            import torch
            import torch.nn.functional as F

            mode = "train" if self.model.training else "eval"
            skip = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}
            kwargs = {k: v for k, v in inputs.items() if k not in skip}
            embeds = None
            if self.robust_ball == "wasserstein" and torch.is_grad_enabled():
                embeds = model.get_input_embeddings()(kwargs.pop("input_ids"))
                kwargs["inputs_embeds"] = embeds
            outputs = model(**kwargs, use_cache=False)
            logps = sequence_logps(outputs.logits, inputs["input_ids"], inputs["completion_mask"])
            chosen, rejected = logps.chunk(2, dim=0)
            if self.precompute_ref_logps:
                ref_chosen, ref_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
            else:
                reference = self.ref_model if self.ref_model is not None else model
                ref_chosen, ref_rejected = self.compute_ref_log_probs(reference, inputs)
            chosen_rewards = self.beta * (chosen - ref_chosen)
            rejected_rewards = self.beta * (rejected - ref_rejected)
            losses = -F.logsigmoid(chosen_rewards - rejected_rewards)
            metrics = self._metrics[mode]
            loss = _batch_loss(self.robust_ball, self.robust_radius, losses, embeds, metrics)
            margins = (chosen_rewards - rejected_rewards).detach()
            metrics["rewards/chosen"].append(chosen_rewards.detach().mean().item())
            metrics["rewards/rejected"].append(rejected_rewards.detach().mean().item())
            metrics["rewards/margins"].append(margins.mean().item())
            metrics["rewards/accuracies"].append((margins > 0).float().mean().item())
            metrics["robust/mean_pair_loss"].append(losses.detach().mean().item())
            return (loss, outputs) if return_outputs else loss

    return RobustDPOTrainer
