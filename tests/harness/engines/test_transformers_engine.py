"""The transformers engine on the real embedded model."""

from dataclasses import replace

import pytest

from harness.core.records import GenerationParams, Message
from harness.engines.base import EngineConfig, PromptTooLongError
from harness.engines.transformers_engine import TransformersEngine
from suites import load_suites

pytestmark = pytest.mark.model


def chats(k: int) -> list[list[Message]]:
    samples = [s for suite in load_suites(["quick"]) for s in suite.samples]
    # Mixed lengths, including a multi-turn chat with a system prompt.
    picked = [s.chat() for s in samples[::9][: k - 1]]
    picked.append(
        [
            Message(role="system", content="Answer in one word."),
            Message(role="user", content="What colour is the sky on a clear day?"),
        ]
    )
    return picked


def test_batched_greedy_equals_batch_size_one(smollm2_engine: TransformersEngine) -> None:
    prompts = chats(9)
    params = GenerationParams(max_new_tokens=24)
    batched = smollm2_engine.generate(prompts, params)
    single = TransformersEngine(replace(smollm2_engine.config, batch_size=1, max_batch_tokens=1))
    assert all(len(b) == 1 for b in single.batches([50, 40, 30], 24))
    single._model, single._tok = (
        smollm2_engine._model,
        smollm2_engine._tok,
    )  # same weights, no reload
    one_by_one = single.generate(prompts, params)
    assert [c[0].text for c in batched] == [c[0].text for c in one_by_one]
    assert [c[0].completion_tokens for c in batched] == [c[0].completion_tokens for c in one_by_one]
    assert all(c[0].text.strip() for c in batched)


def test_close_frees_the_model_and_a_later_call_loads_it_again(smollm2_dir) -> None:
    engine = TransformersEngine(EngineConfig(model=str(smollm2_dir)))
    params = GenerationParams(max_new_tokens=8)
    before = engine.generate(chats(2), params)
    engine.close()
    assert engine._model is None and engine._tok is None
    assert engine.generate(chats(2), params) == before


def test_token_counts_and_finish_reasons(smollm2_engine: TransformersEngine) -> None:
    prompts = [
        [Message(role="user", content="What is the capital of France? Answer briefly.")],
        [Message(role="user", content="Write a long essay about the history of Rome.")],
    ]
    out = smollm2_engine.generate(prompts, GenerationParams(max_new_tokens=40))
    short, long = out[0][0], out[1][0]
    assert long.finish_reason == "length" and long.completion_tokens == 40
    assert short.finish_reason == "stop" and short.completion_tokens < 40
    assert "Paris" in short.text
    expected_prompt = len(smollm2_engine.encode([prompts[0]])[0])
    assert short.prompt_tokens == expected_prompt > 10  # includes the default system prompt


def test_sampling_is_seeded_and_n_completions(smollm2_engine: TransformersEngine) -> None:
    prompt = [[Message(role="user", content="Tell me a one-line joke.")]]
    params = GenerationParams(max_new_tokens=16, temperature=1.0, n=3, seed=7)
    a = smollm2_engine.generate(prompt, params)
    b = smollm2_engine.generate(prompt, params)
    assert len(a[0]) == 3
    assert [c.text for c in a[0]] == [c.text for c in b[0]]
    assert len({c.text for c in a[0]}) > 1


def test_prompt_longer_than_context_is_rejected(smollm2_engine: TransformersEngine) -> None:
    long_prompt = [[Message(role="user", content="word " * 9000)]]
    with pytest.raises(PromptTooLongError, match="exceeds the model's context of 8192"):
        smollm2_engine.generate(long_prompt, GenerationParams(max_new_tokens=8))


def test_bad_dtype_is_a_user_error(smollm2_dir) -> None:
    from harness.core.errors import UserError

    engine = TransformersEngine(EngineConfig(model=str(smollm2_dir), dtype="float33"))
    with pytest.raises(UserError, match="unknown dtype 'float33'"):
        engine.generate([[Message(role="user", content="hi")]], GenerationParams(max_new_tokens=2))


def test_batches_fill_a_token_budget_longest_first(smollm2_dir) -> None:
    engine = TransformersEngine(EngineConfig(model=str(smollm2_dir), max_batch_tokens=1000))
    lengths = [100, 20, 380, 30, 25, 90, 10, 400]
    batches = engine.batches(lengths, max_new_tokens=100)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)
    for b in batches:  # rows x (widest prompt + new tokens) within the budget, or a lone row
        assert len(b) == 1 or len(b) * (lengths[b[0]] + 100) <= 1000
    assert [len(b) for b in batches] == [2, 5, 1]
