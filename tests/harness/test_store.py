import sqlite3
from pathlib import Path

import pytest

from harness.core.errors import UserError
from harness.core.records import Completion, Score
from harness.core.store import ResultsStore, content_key


def test_generations_round_trip_and_errors_not_stored(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.sqlite") as store:
        ok = Completion("hello", 5, 2, "stop")
        bad = Completion("", 0, 0, "error", error="HTTP 500")
        store.put_generations(
            [
                ("k1", {"e": 1}, {"t": 0}, [{"role": "user", "content": "hi"}], 0, ok),
                ("k2", {"e": 1}, {"t": 0}, [{"role": "user", "content": "hi"}], 1, bad),
            ]
        )
        got = store.get_generations(["k1", "k2", "k3"])
        assert got == {"k1": ok}
        # A second put of the same key keeps the first (no duplicates).
        store.put_generations([("k1", {}, {}, [], 0, Completion("other", 1, 1, "stop"))])
        assert store.get_generations(["k1"])["k1"].text == "hello"
        assert store.count_generations() == 1


def test_scores_round_trip(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "s.sqlite") as store:
        s = Score("refusal", 1.0, "full_refusal", None, {"p": 0.9})
        store.put_scores([("a", s)])
        assert store.get_scores(["a", "b"]) == {"a": s}


def test_wal_mode_and_many_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ResultsStore(path) as store:
        rows = [(f"k{i}", {}, {}, [], 0, Completion(str(i), 1, 1, "stop")) for i in range(1200)]  # type: ignore[var-annotated]
        store.put_generations(rows)
        assert len(store.get_generations([f"k{i}" for i in range(1300)])) == 1200
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_content_key_is_order_independent_for_dicts() -> None:
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 2})


def test_unopenable_store_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot open the results store"):
        ResultsStore(blocker / "s.sqlite")


def test_a_damaged_store_is_a_user_error_naming_it(tmp_path: Path) -> None:
    """Pages overwritten with garbage: reading gives one line naming the file, as does a
    file that is not a database at all."""
    path = tmp_path / "s.sqlite"
    with ResultsStore(path) as store:
        chat = [{"role": "user", "content": "x" * 500}]
        reply = Completion("y" * 500, 1, 1, "stop")
        store.put_generations((content_key(i), {"e": 1}, {}, chat, 0, reply) for i in range(400))
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(path.read_bytes())
    data[8192:40960] = b"\xde\xad" * 16384
    path.write_bytes(bytes(data))
    damaged = r"s\.sqlite: the results store cannot be used"
    with pytest.raises(UserError, match=damaged) as info, ResultsStore(path) as store:
        store.get_generations([content_key(i) for i in range(400)])
    assert "move it away" in str(info.value)
    other = tmp_path / "not.sqlite"
    other.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match=r"not\.sqlite"):
        ResultsStore(other)
