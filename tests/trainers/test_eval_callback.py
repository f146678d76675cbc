"""The in-training evaluation's schedule and isolation: step 0, every N and the last step;
steps a resumed run finished are not evaluated again; the training RNG is left as it was;
the options are validated at the edge."""

from pathlib import Path
from typing import Any

import pytest

from harness.core.errors import InputError
from trainers.config import build_config
from trainers.eval_callback import CheckpointEvaluation, step_name


def tiny_policy() -> tuple[Any, Any]:
    """A real (tiny, randomly initialised) causal LM and tokenizer: nothing downloads."""
    from tokenizers import Tokenizer, models
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=4, n_positions=8))
    words = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    return model, PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]")


def test_schedule_saves_evaluates_and_leaves_the_rng_alone(tmp_path: Path) -> None:
    import random

    import numpy as np
    import torch

    seen: list[tuple[int, str]] = []

    def evaluate(step: int, checkpoint: Path, work: Path) -> None:
        assert (checkpoint / "config.json").is_file() and (checkpoint / "manifest.json").is_file()
        assert (checkpoint / "model.safetensors").is_file()
        torch.rand(3), random.random(), np.random.rand()  # an engine seeding and sampling
        seen.append((step, checkpoint.name))

    ev = CheckpointEvaluation(
        every=3,
        evaluate=evaluate,
        recorded=lambda work, upto: {s for s in (0, 3) if s <= upto},
        finish=lambda work, logs, seconds: {},
    )
    ev.start(tmp_path, resumed=3)  # a run resumed at step 3: 0 and 3 are done
    model, tokenizer = tiny_policy()
    torch.manual_seed(1)
    before = torch.get_rng_state()
    for step in range(0, 8):
        if ev.due(step, last=7):
            ev.at(step, model, tokenizer, lora=False)
    assert seen == [(6, step_name(6)), (7, step_name(7))]  # every 3, and the last step
    assert torch.equal(torch.get_rng_state(), before)
    assert ev.done == {0, 3, 6, 7} and ev.seconds > 0
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step-000006",
        "step-000007",
    ]


def test_a_resumed_run_drops_checkpoints_it_will_redo(tmp_path: Path) -> None:
    for step in (0, 2, 4):
        (tmp_path / "checkpoints" / step_name(step)).mkdir(parents=True)
    ev = CheckpointEvaluation(
        every=2,
        evaluate=lambda *a: None,
        recorded=lambda work, upto: {s for s in (0, 2, 4) if s <= upto},
        finish=lambda *a: {},
    )
    ev.start(tmp_path, resumed=2)
    assert ev.done == {0, 2}
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step-000000",
        "step-000002",
    ]


def test_evaluation_options_are_checked_at_the_edge(tmp_path: Path) -> None:
    args: dict[str, Any] = {"data": "x.jsonl", "out": tmp_path / "o"}
    built = build_config(
        "dpo", None, **args, eval_every=5, eval_suites=["quick"], eval_limit=None, select="pareto"
    )
    assert built.evaluation is not None and built.evaluation.every == 5
    assert built.evaluation.suites == ["quick"] and built.evaluation.select == "pareto"
    assert build_config("dpo", None, **args, eval_suites=[], eval_every=None).evaluation is None
    with pytest.raises(InputError, match="names no measure"):
        build_config("dpo", None, **args, eval_every=5, eval_suites=["q"], select="harm<0.2")
    with pytest.raises(InputError, match=r"evaluation\.suites"):
        build_config("dpo", None, **args, eval_every=5)
