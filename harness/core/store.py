"""The results store: every finished generation and score, in SQLite (WAL), keyed by content.

A generation's key hashes the engine identity, the sampling parameters, the chat and the
sample index; a score's key hashes the scorer spec and what it scored. A run therefore
resumes where it stopped, and an identical re-run is served from here without a model.
Each chunk of finished work is committed in one transaction, so a kill loses at most the
chunk in flight and never leaves half of one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from harness.core.errors import UserError
from harness.core.records import Completion, MetricValue, Score

SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    params TEXT NOT NULL,
    chat TEXT NOT NULL,
    sample_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,
    scorer TEXT NOT NULL,
    value REAL,
    label TEXT,
    reason TEXT,
    extra TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS judgments (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    template TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    top_logprobs TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL,
    served TEXT
);
CREATE TABLE IF NOT EXISTS corpus_metrics (
    key TEXT PRIMARY KEY,
    scorer TEXT NOT NULL,
    metrics TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def content_key(*parts: Any) -> str:
    """A stable SHA-256 of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


F = TypeVar("F", bound=Callable[..., Any])


def _readable(method: F) -> F:
    """One thread at a time (a judge panel's members judge concurrently through one store),
    and a store that SQLite cannot read (a damaged page, a file that is not a database, a
    lock held too long) is a UserError naming the file, not a traceback."""

    @functools.wraps(method)
    def wrapper(self: ResultsStore, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            raise UserError(
                f"{self.path}: the results store cannot be used ({e}); if it is damaged, move "
                "it away (its stored results are lost) or pass another --store"
            ) from None

    return wrapper  # type: ignore[return-value]


class ResultsStore:
    """Thin, typed access to the SQLite file; one connection per store object, safe to share
    between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Used from several threads, one at a time under `_lock`.
            self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._migrate()
        except (OSError, sqlite3.Error) as e:
            raise UserError(f"{path}: cannot open the results store ({e})") from None

    def _migrate(self) -> None:
        """Columns added since a store was made: a judge's served identity (older replies
        have none)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(judgments)")}
        if "served" not in columns:
            with self._db:
                self._db.execute("ALTER TABLE judgments ADD COLUMN served TEXT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _select(self, table: str, columns: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Rows (key, *columns) of `table` whose key is among `keys` (queried in slices)."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            rows.extend(
                self._db.execute(f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", part)
            )
        return rows

    @_readable
    def get_generations(self, keys: Sequence[str]) -> dict[str, Completion]:
        """The stored completions among `keys`."""
        rows = self._select(
            "generations", "text, prompt_tokens, completion_tokens, finish_reason", keys
        )
        return {key: Completion(text, pt, ct, fr) for key, text, pt, ct, fr in rows}

    @_readable
    def put_generations(
        self,
        rows: Iterable[
            tuple[str, dict[str, Any], dict[str, Any], list[dict[str, str]], int, Completion]
        ],
    ) -> None:
        """Store (key, identity, params, chat, index, completion) rows in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO generations VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        key,
                        json.dumps(identity, sort_keys=True),
                        json.dumps(params, sort_keys=True),
                        json.dumps(chat, ensure_ascii=False),
                        index,
                        c.text,
                        c.prompt_tokens,
                        c.completion_tokens,
                        c.finish_reason,
                        now,
                    )
                    for key, identity, params, chat, index, c in rows
                    if c.finish_reason != "error"
                ],
            )

    @_readable
    def get_scores(self, keys: Sequence[str]) -> dict[str, Score]:
        """The stored scores among `keys`."""
        rows = self._select("scores", "scorer, value, label, reason, extra", keys)
        return {
            key: Score(scorer, value, label, reason, json.loads(extra))
            for key, scorer, value, label, reason, extra in rows
        }

    @_readable
    def put_scores(self, rows: Iterable[tuple[str, Score]]) -> None:
        """Store (key, score) rows in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO scores VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        k,
                        s.scorer,
                        s.value,
                        s.label,
                        s.reason,
                        json.dumps(s.extra, sort_keys=True),
                        now,
                    )
                    for k, s in rows
                ],
            )

    @_readable
    def get_corpus_metrics(self, key: str) -> list[MetricValue] | None:
        """Set-level metrics stored under `key` (a scorer over one exact set of answers)."""
        rows = self._select("corpus_metrics", "metrics", [key])
        if not rows:
            return None
        return [MetricValue.model_validate(m) for m in json.loads(rows[0][1])]

    @_readable
    def put_corpus_metrics(self, key: str, scorer: str, metrics: Sequence[MetricValue]) -> None:
        """Store one set's metrics (an expensive computation, e.g. embedding distances)."""
        blob = json.dumps([m.model_dump() for m in metrics])
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO corpus_metrics VALUES (?,?,?,?)",
                (key, scorer, blob, time.time()),
            )

    @_readable
    def get_judgments(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored judge replies among `keys` (text, top_logprobs, token counts, seconds,
        and what the endpoint said it was: `served`)."""
        rows = self._select(
            "judgments",
            "text, top_logprobs, prompt_tokens, completion_tokens, seconds, served",
            keys,
        )
        return {
            key: {
                "text": text,
                "top_logprobs": json.loads(lp) if lp is not None else None,
                "prompt_tokens": pt,
                "completion_tokens": ct,
                "seconds": secs,
                "served": json.loads(served) if served is not None else None,
            }
            for key, text, lp, pt, ct, secs, served in rows
        }

    @_readable
    def put_judgments(
        self, rows: Iterable[tuple[str, dict[str, Any], str, dict[str, Any], dict[str, Any]]]
    ) -> None:
        """Store (key, judge identity, template id, request, reply) rows in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO judgments (key, judge, template, request, text, "
                "top_logprobs, prompt_tokens, completion_tokens, seconds, created, served) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        key,
                        json.dumps(judge, sort_keys=True),
                        template,
                        json.dumps(request, sort_keys=True, ensure_ascii=False),
                        reply["text"],
                        None
                        if reply.get("top_logprobs") is None
                        else json.dumps(reply["top_logprobs"]),
                        reply.get("prompt_tokens", 0),
                        reply.get("completion_tokens", 0),
                        reply.get("seconds", 0.0),
                        now,
                        None
                        if reply.get("served") is None
                        else json.dumps(reply["served"], sort_keys=True),
                    )
                    for key, judge, template, request, reply in rows
                ],
            )

    @_readable
    def count_judgments(self) -> int:
        """How many judge replies are stored."""
        return int(self._db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])

    @_readable
    def count_generations(self) -> int:
        """How many generations are stored (for tests and diagnostics)."""
        return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])
