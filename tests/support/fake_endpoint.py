"""A scripted OpenAI-compatible endpoint on loopback, for tests, benchmarks and dry runs.

It answers `/v1/chat/completions` with a reply chosen by `reply(messages)` (default: an
echo of the last user message), after `latency` seconds (at most `capacity` requests
computed at once), and injects faults: per prompt,
a queue of scripted faults (`script`), or at random with `fault_rates` (seeded). Faults:
an HTTP status such as `429` (with Retry-After), `500` or `401`, `hang` (sleeps past any sane timeout), `truncated`
(half a JSON body), `garbage` (200 with text that is not JSON), `nonsense` (a well-formed
reply whose text has no verdict). Replies name `served_model` and `system_fingerprint`
when set. Threaded, so concurrent requests overlap like a real server's. Binds to
127.0.0.1 only.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "500", "hang", "truncated", "garbage", "nonsense")


def echo(messages: list[dict[str, Any]]) -> str:
    """The default reply: the last user message, echoed."""
    return f"echo: {messages[-1]['content']}"


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # the default backlog (5) refuses bursts of connections
    daemon_threads = True
    endpoint: FakeEndpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the chaos benchmark does it on purpose) is not an
        error of the endpoint's; anything else is still printed."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Answers one request as the server's FakeEndpoint scripts it."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every request and flatter any concurrency gain.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _log(self, body: dict[str, Any], status: int) -> None:
        """One JSON line per answered request (prompt and status), when logging is on."""
        path = self.server.endpoint.log_path
        if path:
            line = json.dumps({"prompt": body["messages"][-1]["content"], "status": status})
            with self.server.endpoint._lock, open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            pass

    def do_GET(self) -> None:
        self._send(
            200,
            json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode(),
        )

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        endpoint.auth.append(self.headers.get("Authorization", ""))
        fault = endpoint._next_fault(body)
        if endpoint.latency:
            with endpoint._slots:  # a busy server queues what it cannot compute at once
                time.sleep(endpoint.latency)
        if fault == "429":
            self._send(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0"})
        elif fault is not None and fault.isdigit():
            self._send(int(fault), b'{"error": {"message": "scripted failure"}}')
        elif fault == "hang":
            endpoint._closed.wait(endpoint.hang_seconds)
            self._send(504, b'{"error": {"message": "too late"}}')
        elif fault == "truncated":
            self._send(200, json.dumps(endpoint._completion(body, "x"))[:40].encode())
        elif fault == "garbage":
            self._send(200, b"<html>upstream error</html>")
        else:
            text = (
                "I have no opinion on this."
                if fault == "nonsense"
                else endpoint.reply_by_model.get(body.get("model", ""), endpoint.reply)(
                    body["messages"]
                )
            )
            self._send(200, json.dumps(endpoint._completion(body, text)).encode())
            self._log(body, 200)


@dataclass
class FakeEndpoint:
    """A running fake endpoint; use as a context manager or call `close()`."""

    reply: Callable[[list[dict[str, Any]]], str] = echo
    reply_by_model: dict[str, Callable[[list[dict[str, Any]]], str]] = field(default_factory=dict)
    """Replies by the requested model name (several judges behind one endpoint); others get
    `reply`."""
    top_logprobs: Callable[[list[dict[str, Any]]], dict[str, float]] | None = None
    """When set and a request asks for logprobs: the first reply token's top log-probs."""
    latency: float = 0.0
    script: dict[str, list[str]] = field(default_factory=dict)
    fault_rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    hang_seconds: float = 30.0
    capacity: int | None = None
    """Requests computed at once (None: all): the rest wait their turn, as on a self-hosted
    server, and a request is computed to the end even when its client has given up."""
    port: int = 0
    """0 picks a free port."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    faults_served: dict[str, int] = field(default_factory=dict)
    log_path: str | None = None
    """When set, every answered request is appended there as a JSON line (across processes)."""
    served_model: str | None = None
    """The `model` a reply names (None: the requested one), as a provider names the snapshot
    behind an alias; change it (and `reply`) mid-run for a second model behind one name."""
    system_fingerprint: str | None = None
    """The reply's `system_fingerprint`, when set."""

    def __post_init__(self) -> None:
        unknown = {f for f in self.fault_rates if f not in FAULTS and not f.isdigit()}
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.capacity or 10_000)
        self._rng = random.Random(self.seed)
        self._closed = threading.Event()
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.endpoint = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _next_fault(self, body: dict[str, Any]) -> str | None:
        prompt = body["messages"][-1]["content"]
        with self._lock:
            self.requests.append(body)
            queue = self.script.get(prompt)
            fault = queue.pop(0) if queue else None
            if fault is None and self.fault_rates:
                draw = self._rng.random()
                for name, p in self.fault_rates.items():
                    if draw < p:
                        fault = name
                        break
                    draw -= p
            if fault is not None and fault != "ok":
                self.faults_served[fault] = self.faults_served.get(fault, 0) + 1
                return fault
            return None

    def _completion(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        choice: dict[str, Any] = {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": text},
        }
        if body.get("logprobs") and self.top_logprobs is not None:
            tops = self.top_logprobs(body["messages"])
            best = max(tops, key=lambda t: tops[t])
            choice["logprobs"] = {
                "content": [
                    {
                        "token": best,
                        "logprob": tops[best],
                        "bytes": None,
                        "top_logprobs": [
                            {"token": t, "logprob": lp, "bytes": None} for t, lp in tops.items()
                        ],
                    }
                ]
            }
        return {
            "id": "fake-1",
            "object": "chat.completion",
            "created": 0,
            "model": self.served_model or body.get("model", "fake"),
            **({"system_fingerprint": self.system_fingerprint} if self.system_fingerprint else {}),
            "choices": [choice],
            "usage": {
                "prompt_tokens": len(prompt.split()),
                "completion_tokens": len(text.split()),
                "total_tokens": len(prompt.split()) + len(text.split()),
            },
        }

    def close(self) -> None:
        """Stop serving (hanging requests are released)."""
        self._closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    """Serve a fake endpoint until interrupted: `python -m tests.support.fake_endpoint --latency 0.1`."""
    import argparse

    ap = argparse.ArgumentParser(description="A scripted OpenAI-compatible endpoint on 127.0.0.1.")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=RATE",
        help=f"inject a fault at a rate, e.g. 500=0.1 (faults: {', '.join(FAULTS)} or any HTTP status)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", default=None, help="append one JSON line per answered request")
    args = ap.parse_args()
    rates = {}
    for spec in args.fault:
        name, _, value = spec.partition("=")
        rates[name] = float(value)
    endpoint = FakeEndpoint(
        latency=args.latency, fault_rates=rates, seed=args.seed, log_path=args.log
    )
    print(endpoint.url, flush=True)
    try:
        endpoint._thread.join()
    except KeyboardInterrupt:
        endpoint.close()


if __name__ == "__main__":
    main()
