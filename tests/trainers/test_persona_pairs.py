"""Per-persona preferences for per-user adapters: from a `harness compare --personas`
directory (each persona's verdicts joined with the judged answers) or a JSONL file."""

import json
from pathlib import Path

import pytest

from harness.core.errors import InputError, UserError
from trainers.persona_pairs import load_persona_pairs


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def compare_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cmp"
    d.mkdir()
    key = {"model_a": "base", "model_b": "m", "suite": "s"}
    write_jsonl(d / "judgments.jsonl", [
        {**key, "id": "1", "prompt": "q1", "response_a": "short", "response_b": "a long answer"},
        {**key, "id": "2", "prompt": "q2", "response_a": "tiny", "response_b": "much longer here"},
    ])  # fmt: skip
    write_jsonl(d / "personas.jsonl", [
        {**key, "id": "1", "persona": "concise", "verdict": "A"},
        {**key, "id": "2", "persona": "concise", "verdict": "tie"},
        {**key, "id": "1", "persona": "thorough", "verdict": "B"},
        {**key, "id": "2", "persona": "thorough", "verdict": "B"},
    ])  # fmt: skip
    return d


def test_compare_verdicts_become_each_personas_pairs(tmp_path: Path) -> None:
    found = load_persona_pairs(str(compare_dir(tmp_path)))
    [concise] = found.pairs["concise"]
    assert (concise.chosen, concise.rejected) == ("short", "a long answer")
    assert concise.prompt == [{"role": "user", "content": "q1"}]
    assert [p.chosen for p in found.pairs["thorough"]] == ["a long answer", "much longer here"]
    assert found.undecided == {"concise": 1}  # the tie is not a preference


def test_a_verdict_without_its_pair_names_the_line(tmp_path: Path) -> None:
    d = compare_dir(tmp_path)
    with (d / "personas.jsonl").open("a") as f:
        f.write(json.dumps({"model_a": "base", "model_b": "m", "suite": "s", "id": "9",
                            "persona": "concise", "verdict": "A"}) + "\n")  # fmt: skip
    with pytest.raises(InputError, match=r"personas.jsonl:5: field 'id'"):
        load_persona_pairs(str(d))


def test_a_preference_file_and_its_errors(tmp_path: Path) -> None:
    f = tmp_path / "prefs.jsonl"
    write_jsonl(f, [
        {"persona": "concise", "prompt": "q", "chosen": "a", "rejected": "b"},
        {"persona": "thorough", "prompt": [{"role": "user", "content": "q"}], "chosen": "b", "rejected": "a"},
    ])  # fmt: skip
    found = load_persona_pairs(str(f))
    assert {k: len(v) for k, v in found.pairs.items()} == {"concise": 1, "thorough": 1}
    write_jsonl(f, [{"persona": "concise", "prompt": "q", "chosen": "a"}])
    with pytest.raises(InputError, match=r"prefs.jsonl:1: field 'rejected'"):
        load_persona_pairs(str(f))
    with pytest.raises(UserError, match="no such file or directory"):
        load_persona_pairs(str(tmp_path / "none"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"no personas\.jsonl"):
        load_persona_pairs(str(empty))
