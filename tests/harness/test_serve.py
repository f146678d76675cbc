"""`harness serve` over the real embedded model, on loopback, used as a judge endpoint."""

import gc
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.core.store import ResultsStore
from harness.jobs.serve import build_app
from judges.llm.backends import OpenAIBackend, RetryPolicy
from judges.llm.judge import Judge
from judges.llm.pairwise import judge_pairwise
from judges.llm.template import load_template
from judges.llm.verdicts import PairItem

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def served(smollm2_engine: Any) -> Iterator[tuple[str, Any]]:
    """(base URL, app) of an in-process server over the embedded model."""
    import uvicorn

    app = build_app(
        smollm2_engine,
        "smollm2",
        max_batch=8,
        max_pending=16,
        max_body_bytes=200_000,
        default_max_tokens=16,  # the fuzz test's max_tokens: null requests decode this long
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1", app
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def server(served: tuple[str, Any]) -> str:
    return served[0]


LONG = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Count from 1 to 2000, one number per line."}],
    "max_tokens": 1500,
    "temperature": 0,
}
"""A request that decodes for about a minute on two cores."""


PAIRS = [
    PairItem(
        "1", "What is the capital of France?", "The capital of France is Paris.", "It is Lyon."
    ),
    PairItem("2", "What is 2+2?", "2+2 is 5.", "2+2 equals 4."),
    PairItem("3", "Name a primary colour.", "Red.", "Banana."),
]


def test_pairwise_judging_through_serve_then_all_cached(server: str, tmp_path: Path) -> None:
    retry = RetryPolicy(max_retries=1, timeout=120)
    with ResultsStore(tmp_path / "s.sqlite") as store:
        judge = Judge(
            "openai:smollm2",
            load_template("pairwise-logprob-v1"),
            OpenAIBackend("smollm2", base_url=server, concurrency=8, retry=retry),
            store,
        )
        # This tests the transport of log-probabilities, not the 135M judge: its A/B tokens
        # carry a few percent of the mass, below the default threshold, so accept any.
        judge.min_verdict_mass = 0.0
        first = judge_pairwise(judge, PAIRS)
        assert judge.stats.requests == 6 and judge.stats.failed == 0
        for r in first:
            assert [o.order for o in r.orders] == ["AB", "BA"]
            assert all(
                o.raw is not None and o.error in (None, "unparsed verdict") for o in r.orders
            )
            assert r.status in {"ok", "inconsistent", "unparsed"}
            assert (r.consistent is None) == (sum(o.verdict is not None for o in r.orders) < 2)
        # The logprob template got log-probabilities back, so verdicts are weighted.
        assert any(o.weighted for r in first for o in r.orders)
        assert all(o.verdict_mass is not None for r in first for o in r.orders)
        again = Judge(
            "openai:smollm2",
            load_template("pairwise-logprob-v1"),
            OpenAIBackend("smollm2", base_url=server, retry=retry),
            store,
        )
        again.min_verdict_mass = 0.0
        second = judge_pairwise(again, PAIRS)
        assert again.stats.requests == 0 and again.stats.cached == 6
        assert second == first


def test_a_canary_on_the_served_embedded_model_says_unchanged(server: str, tmp_path: Path) -> None:
    """Same model, same weights, greedy: a check against its own pinned canary finds no
    drift (the served model names itself in every reply)."""
    from harness.jobs.canary import CanaryCheckConfig, CanaryPinConfig, check_canary, pin_canary

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "prompt": f"What is {i} plus {i}?",
                        "response_a": f"{2 * i}.", "response_b": f"I think it is {2 * i + 1}."})
            + "\n"
            for i in range(12)
        )
    )  # fmt: skip
    canary = tmp_path / "canary.json"
    record = pin_canary(
        CanaryPinConfig(
            judge="openai:smollm2",
            pairs=str(pairs),
            out=canary,
            n=12,
            template="pairwise-logprob-v1",
            judge_base_url=server,
            min_verdict_mass=0.0,  # SmolLM2 puts little mass on the verdict letters
        )
    )
    assert record["repeat_agreement"] == {"agree": 12, "n": 12}
    assert {s["model"] for s in record["served"]} == {"smollm2"}
    found = check_canary(
        CanaryCheckConfig(canary=canary, judge="openai:smollm2", judge_base_url=server)
    )
    assert found["status"] == "unchanged" and found["n"] == 12 and not found["identity_changed"]
    assert found["check_agreement"]["value"] == 1.0


def test_openai_compatible_answers(server: str) -> None:
    models = httpx.get(f"{server}/models").json()
    assert models["data"][0]["id"] == "smollm2"
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 8,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 3,
    }
    resp = httpx.post(f"{server}/chat/completions", json=body, timeout=60).json()
    choice = resp["choices"][0]
    assert choice["message"]["content"] and resp["usage"]["completion_tokens"] <= 8
    top = choice["logprobs"]["content"][0]["top_logprobs"]
    assert len(top) == 3 and choice["message"]["content"].startswith(top[0]["token"].strip())


def test_the_official_openai_client_streams_what_it_would_get_in_one_reply(server: str) -> None:
    import openai

    client = openai.OpenAI(base_url=server, api_key="unused")
    asked = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Name three colours."}],
        "max_tokens": 24,
        "temperature": 0,
    }
    whole = client.chat.completions.create(**asked)  # type: ignore[call-overload]
    chunks = list(
        client.chat.completions.create(  # type: ignore[call-overload]
            **asked, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content and len(text) > 10
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 2  # step by step
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == [whole.choices[0].finish_reason]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_a_client_that_leaves_stops_costing_compute(
    served: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A client gives up 1.5 s into a reply of up to 1,500 tokens (about a minute here): the
    server stops decoding for it at the next step, and the next request is answered."""
    url, app = served
    batcher = app.state.batcher
    before = batcher.stopped
    with pytest.raises(httpx.ReadTimeout):  # still decoding when the client left
        httpx.post(f"{url}/chat/completions", json=LONG, timeout=1.5)
    deadline = time.time() + 60
    while batcher.stopped == before and time.time() < deadline:
        time.sleep(0.1)
    assert batcher.stopped == before + 1
    assert 0 < batcher.last_stopped_tokens < 1500  # stopped part-way, not decoded for nobody
    ok = httpx.post(
        f"{url}/chat/completions",
        timeout=60,
        json={"model": "smollm2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
    )
    assert ok.status_code == 200
    # A streaming client that leaves part-way is stopped the same way.
    with httpx.stream("POST", f"{url}/chat/completions", json={**LONG, "stream": True}) as r:
        for line in r.iter_lines():
            if '"content": "' in line and '"content": ""' not in line:
                break  # read one piece of text, then hang up
    deadline = time.time() + 60
    while batcher.stopped == before + 1 and time.time() < deadline:
        time.sleep(0.1)
    assert batcher.stopped == before + 2 and 0 < batcher.last_stopped_tokens < 1500
    time.sleep(0.5)  # the abandoned reply's task ends and is freed on the server's loop
    gc.collect()
    assert "exception was never retrieved" not in caplog.text


def test_a_full_queue_answers_429_with_retry_after(served: tuple[str, Any]) -> None:
    """16 requests in flight (the fixture's max_pending): the 17th is told to come back."""
    url = served[0]
    left: list[object] = []

    def wait_then_leave() -> None:
        try:
            httpx.post(f"{url}/chat/completions", json=LONG, timeout=3)
        except httpx.ReadTimeout as e:
            left.append(e)

    clients = [threading.Thread(target=wait_then_leave) for _ in range(16)]
    for c in clients:
        c.start()
    time.sleep(1)  # all 16 accepted and decoding
    refused = httpx.post(f"{url}/chat/completions", json=LONG, timeout=1.5)
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "1" and "error" in refused.json()
    for c in clients:
        c.join(30)
    assert len(left) == 16  # all gave up waiting; the server stops decoding for them
    # Their slots free once the batch notices at its next decode step, which can be just
    # after the clients leave: a client that honours Retry-After is then answered.
    hi = {"model": "smollm2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    for _ in range(10):
        ok = httpx.post(f"{url}/chat/completions", timeout=60, json=hi)
        if ok.status_code != 429:
            break
        time.sleep(float(ok.headers["Retry-After"]))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "payload,status",
    [
        (b"{not json", 400),
        (json.dumps({"model": "smollm2"}).encode(), 400),
        (json.dumps({"model": "smollm2", "messages": []}).encode(), 400),
        (
            json.dumps({"model": "other", "messages": [{"role": "user", "content": "x"}]}).encode(),
            404,
        ),
        (
            json.dumps(
                {
                    "model": "smollm2",
                    "messages": [{"role": "user", "content": "x"}],
                    "stream": True,
                    "n": 2,
                }
            ).encode(),
            400,
        ),
        (
            json.dumps(
                {"model": "smollm2", "messages": [{"role": "user", "content": "x"}], "seed": 10**20}
            ).encode(),
            400,
        ),
        (
            json.dumps(
                {"model": "smollm2", "messages": [{"role": "robot", "content": "x"}]}
            ).encode(),
            400,
        ),
        (
            json.dumps(
                {
                    "model": "smollm2",
                    "messages": [{"role": "user", "content": "x"}],
                    "max_tokens": -1,
                }
            ).encode(),
            400,
        ),
        (
            json.dumps(
                {"model": "smollm2", "messages": [{"role": "assistant", "content": "x"}]}
            ).encode(),
            400,
        ),
        (b"x" * 300_000, 413),
    ],
)
def test_malformed_requests_are_refused_and_the_server_survives(
    server: str, payload: bytes, status: int
) -> None:
    resp = httpx.post(
        f"{server}/chat/completions",
        content=payload,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == status
    assert "error" in resp.json()
    if status == 400 and payload.startswith(b'{"'):  # a JSON body: the field is named
        assert "field '" in resp.json()["error"]["message"], resp.json()
    ok = httpx.post(
        f"{server}/chat/completions",
        timeout=60,
        json={"model": "smollm2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
    )
    assert ok.status_code == 200


# Over 60 lines: an end-to-end scenario read top to bottom (start, interrupt or serve,
# resume or re-run, check); most of its length is the command line it runs.
def test_harness_serve_process_as_judge_endpoint(
    tmp_path: Path, harness_home: Path, smollm2_dir: Path
) -> None:
    """The literal workflow: `harness serve` in its own process, `harness judge pairwise` twice."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HARNESS_HOME": str(harness_home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", "--model", "smollm2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        assert server.stdout is not None
        ready = server.stdout.readline()  # printed once the socket is bound
        assert ready.strip() == f"serving smollm2 at {url} (Ctrl-C stops)", ready
        assert httpx.get(f"{url}/models", timeout=5).status_code == 200
        pairs = tmp_path / "pairs.jsonl"
        pairs.write_text(
            "".join(
                json.dumps(
                    {
                        "id": p.id,
                        "prompt": p.prompt,
                        "response_a": p.response_a,
                        "response_b": p.response_b,
                    }
                )
                + "\n"
                for p in PAIRS
            )
        )
        out = tmp_path / "judged.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "judge",
            "pairwise",
            "--input",
            str(pairs),
            "--output",
            str(out),
            "--judge",
            "openai:smollm2",
            "--judge-base-url",
            url,
            "--template",
            "pairwise-logprob-v1",
            "--store",
            str(tmp_path / "s.sqlite"),
        ]
        first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["id"] for r in rows] == ["1", "2", "3"]
        for r in rows:
            assert [o["order"] for o in r["orders"]] == ["AB", "BA"]
            assert (
                "consistent" in r
                and "verdict" in r
                and r["status"] in {"ok", "inconsistent", "unparsed"}
            )
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0
        said = " ".join(second.stdout.split())
        assert "0 requests" in said and "6 from the store" in said
        assert out.read_text().splitlines() == [json.dumps(r, ensure_ascii=False) for r in rows]
        # SIGTERM while busy: one long reply decoding, three more queued behind it (distinct
        # lengths: separate batches). It stops at the next decode step instead of finishing
        # all four (minutes here), and the clients get 503 or a closed connection.
        answers: list[object] = []

        def ask(max_tokens: int) -> None:
            try:
                body = {**LONG, "max_tokens": max_tokens}
                answers.append(httpx.post(f"{url}/chat/completions", json=body, timeout=120))
            except httpx.HTTPError as e:
                answers.append(e)

        clients = [threading.Thread(target=ask, args=(1500 - k,)) for k in range(4)]
        for c in clients:
            c.start()
        time.sleep(2)
        began = time.monotonic()
        server.terminate()
        server.wait(30)  # minutes if it decoded on for clients it will never answer
        print(f"SIGTERM while busy: exited in {time.monotonic() - began:.1f} s")
        for c in clients:
            c.join(30)
        assert len(answers) == 4
        assert all(
            isinstance(a, httpx.HTTPError) or a.status_code == 503  # type: ignore[attr-defined]
            for a in answers
        ), answers
        assert "Traceback" not in (server.stderr.read() if server.stderr else "")
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(30)


def _fuzz_payloads(seed: int, count: int) -> list[bytes]:
    """Random mutations of a valid request: wrong types, odd values, broken bytes."""
    rng = random.Random(seed)
    odd = [None, -1, 0, 1e308, "x" * 50, [], {}, [1, 2], {"a": {"b": [None]}}, True, "\udcff"]
    valid = {"model": "smollm2", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    out: list[bytes] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.2:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
        elif kind < 0.3:
            out.append(b"[" * 5000 + b"]" * 5000)
        else:
            body = json.loads(json.dumps(valid))
            target = rng.choice(
                [
                    "model",
                    "messages",
                    "max_tokens",
                    "temperature",
                    "top_p",
                    "n",
                    "logprobs",
                    "top_logprobs",
                    "seed",
                    "stop",
                ]
            )
            value = rng.choice(odd)
            if target == "messages" and rng.random() < 0.5:
                body["messages"] = [
                    {"role": rng.choice(["user", "system", 3, None]), "content": value}
                ]
            else:
                body[target] = value
            out.append(json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return out


def test_fuzzed_requests_never_crash_the_server(server: str) -> None:
    statuses = []
    for payload in _fuzz_payloads(seed=7, count=60):
        resp = httpx.post(
            f"{server}/chat/completions",
            content=payload,
            headers={"Content-Type": "application/json"},
            timeout=180,  # max_tokens null means the server's default length (16 here)
        )
        statuses.append(resp.status_code)
        assert resp.status_code < 500, (payload[:200], resp.text[:200])
        if resp.status_code != 200:
            assert "error" in resp.json()
    assert any(s >= 400 for s in statuses)
    assert statuses.count(200) <= 6  # wrong types are refused, not coerced (strict parsing)
    ok = httpx.post(
        f"{server}/chat/completions",
        timeout=60,
        json={"model": "smollm2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
    )
    assert ok.status_code == 200
