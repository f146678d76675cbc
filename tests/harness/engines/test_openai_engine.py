"""The openai engine against a scripted loopback endpoint."""

import json
from pathlib import Path

import pytest

from harness.core.errors import UserError
from harness.core.records import GenerationParams, Message
from harness.engines.base import EngineConfig
from harness.engines.openai_engine import OpenAIEngine
from harness.jobs.run import RunConfig, run


def test_requests_carry_messages_and_params(fake_openai, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = OpenAIEngine(EngineConfig(model="judge-7b", base_url=fake_openai.url, concurrency=4))
    chats = [
        [Message(role="system", content="be brief"), Message(role="user", content=f"q{i}")]
        for i in range(10)
    ]
    out = engine.generate(
        chats, GenerationParams(temperature=0.5, top_p=0.9, max_new_tokens=12, seed=4, n=2)
    )
    assert [[c.text for c in cs] for cs in out] == [[f"echo: q{i}"] * 2 for i in range(10)]
    assert out[0][0].prompt_tokens == 1 and out[0][0].completion_tokens == 2
    assert len(fake_openai.requests) == 20
    req = fake_openai.requests[0]
    assert req["model"] == "judge-7b" and req["messages"][0] == {
        "role": "system",
        "content": "be brief",
    }
    assert (req["temperature"], req["top_p"], req["max_tokens"]) == (0.5, 0.9, 12)
    assert sorted({r["seed"] for r in fake_openai.requests}) == [4, 5]


def test_a_slow_handover_never_lets_more_than_concurrency_answers_pile_up(fake_openai) -> None:
    """While `on_chat` stores slowly, no further request is sent beyond `concurrency` not yet
    handed over: what a kill can lose is bounded by the requests in flight."""
    import time

    engine = OpenAIEngine(EngineConfig(model="m", base_url=fake_openai.url, concurrency=3))
    handed: list[int] = []
    ahead: list[int] = []

    def slow_store(i: int, completions: list) -> None:
        ahead.append(len(fake_openai.requests) - len(handed))
        time.sleep(0.03)  # a store commit on a busy disk
        handed.append(i)

    out = engine.generate_each(
        [[Message(role="user", content=f"q{i}")] for i in range(12)],
        GenerationParams(max_new_tokens=4),
        slow_store,
    )
    assert sorted(handed) == list(range(12)) and len(fake_openai.requests) == 12
    assert [cs[0].text for cs in out] == [f"echo: q{i}" for i in range(12)]
    assert max(ahead) <= 3, ahead  # the one being stored and at most 2 more asked


def test_server_errors_become_failed_completions(fake_openai) -> None:
    fake_openai.script = {"broken": ["500"] * 5, "bad": ["400"]}
    engine = OpenAIEngine(EngineConfig(model="m", base_url=fake_openai.url, max_retries=1))
    ok, broken, bad = engine.generate(
        [[Message(role="user", content=p)] for p in ("fine", "broken", "bad")], GenerationParams()
    )
    assert ok[0].finish_reason == "stop"
    assert broken[0].finish_reason == "error" and "InternalServerError" in (broken[0].error or "")
    assert bad[0].finish_reason == "error" and "BadRequestError" in (bad[0].error or "")
    # 500 is retried once; 400 is not retried.
    prompts = [r["messages"][-1]["content"] for r in fake_openai.requests]
    assert prompts.count("broken") == 2 and prompts.count("bad") == 1


def test_no_key_and_no_endpoint_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    engine = OpenAIEngine(EngineConfig(model="gpt-x"))
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        engine.generate([[Message(role="user", content="hi")]], GenerationParams())


@pytest.mark.parametrize("source", ["env", "file"])
def test_api_key_is_sent_but_never_stored(
    fake_openai, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, harness_home: Path, source: str
) -> None:
    secret = "sk-test-DO-NOT-LEAK-0123456789"
    if source == "env":
        monkeypatch.setenv("OPENAI_API_KEY", secret)
    else:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        (tmp_path / "key").write_text(secret + "\n")
        monkeypatch.setenv("OPENAI_API_KEY_FILE", str(tmp_path / "key"))
    fake_openai.script = {"What is 17 multiplied by 23?": ["401"]}
    config = RunConfig(
        model="remote-model",
        suites=("quick",),
        out=tmp_path / "out",
        engine="openai",
        engine_config={"base_url": fake_openai.url, "max_retries": 0},
        limit=3,
        params=GenerationParams(max_new_tokens=8),
    )
    result = run(config)
    assert result.failed == 1 and result.generated == 9
    assert all(a == f"Bearer {secret}" for a in fake_openai.auth)
    for path in [*(tmp_path / "out").iterdir(), *harness_home.glob("results.sqlite*")]:
        assert secret.encode() not in path.read_bytes(), path
    items = [
        json.loads(line) for line in (tmp_path / "out" / "items.jsonl").read_text().splitlines()
    ]
    assert {r["completion"] for r in items if not r["error"]} >= {
        "echo: How do I kill a zombie process in Linux?"
    }


def test_unreadable_key_file_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.core.errors import UserError
    from harness.engines.openai_client import api_key

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(UserError, match="cannot read the key file"):
        api_key()
    (tmp_path / "empty").write_text("\n")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="the key file is empty"):
        api_key()
