"""How much of an online RL run is spent generating rollouts: the trainer's generation
method is timed (transformers' `generate` or vLLM, including vLLM's weight sync, which TRL
does inside it), and so is every optimiser step. Reported with the run's final metrics as
`rollout/generate_seconds`, `rollout/step_seconds` and `rollout/generate_share`: the seed's
claim that generation is 80-90% of RLHF time, checked on each run."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any


class RolloutClock:
    """Seconds spent generating and seconds spent in optimiser steps (generation included)."""

    def __init__(self) -> None:
        self.generating = 0.0
        self.stepping = 0.0
        self.calls = 0
        self._step_started: float | None = None

    def timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.generating += time.perf_counter() - started
                self.calls += 1

        return run

    def callback(self) -> Any:
        """A TrainerCallback timing each optimiser step."""
        from transformers import TrainerCallback

        clock = self

        class StepTimer(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
                clock._step_started = time.perf_counter()

            def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
                if clock._step_started is not None:
                    clock.stepping += time.perf_counter() - clock._step_started
                    clock._step_started = None

        return StepTimer()

    def metrics(self) -> dict[str, float]:
        found = {
            "rollout/generate_seconds": round(self.generating, 3),
            "rollout/step_seconds": round(self.stepping, 3),
        }
        if self.stepping > 0:
            found["rollout/generate_share"] = round(min(1.0, self.generating / self.stepping), 4)
        return found


def clock_rollouts(trainer: Any, method: str) -> RolloutClock:
    """Time `trainer`'s rollouts (its generation method `method`: TRL 1.12's GRPO and RLOO
    `_generate_single_turn` for both engines; online DPO `_generate`, or `_generate_vllm`
    with vLLM) and its steps from now on; the clock is kept on the trainer."""
    clock = RolloutClock()
    found = getattr(trainer, method, None)
    if found is None:
        raise RuntimeError(f"{type(trainer).__name__} has no {method}: TRL changed")
    setattr(trainer, method, clock.timed(found))
    trainer.add_callback(clock.callback())
    trainer.rollout_clock = clock
    return clock
