"""Training data sources: stored judgments, chat-form prompts, prompts for PPO/CAI, hub ids."""

import json
from pathlib import Path

import pytest

from harness.core.errors import UserError
from trainers.data import load_pairs, load_prompts


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_judgments_become_preferences(tmp_path: Path) -> None:
    judged = write(
        tmp_path / "judgments.jsonl",
        [
            {"id": "1", "prompt": "p1", "response_a": "a1", "response_b": "b1", "verdict": "B"},
            {"id": "2", "prompt": "p2", "response_a": "a2", "response_b": "b2", "verdict": "A"},
            {"id": "3", "prompt": "p3", "response_a": "a3", "response_b": "b3", "verdict": "tie"},
            {"id": "4", "prompt": "p4", "response_a": "a4", "response_b": "b4", "verdict": None},
        ],
    )
    pairs = load_pairs(f"judgments:{judged}")
    assert [(p.prompt[0]["content"], p.chosen, p.rejected) for p in pairs] == [
        ("p1", "b1", "a1"),
        ("p2", "a2", "b2"),
    ]


def test_compare_judgments_file_is_a_source(tmp_path: Path) -> None:
    """The judgments.jsonl `harness compare` writes has the fields the source reads."""
    row = {  # type: ignore[var-annotated]
        "model_a": "base", "model_b": "x", "suite": "s", "id": "q", "category": None,
        "prompt": "Q?", "response_a": "short", "response_b": "long answer",
        "orders": [], "consistent": True, "verdict": "A", "preference": 0.0, "status": "ok",
    }  # fmt: skip
    pairs = load_pairs(f"judgments:{write(tmp_path / 'j.jsonl', [row])}")
    assert pairs[0].chosen == "short" and pairs[0].rejected == "long answer"


def test_bad_judgment_row_names_line_and_field(tmp_path: Path) -> None:
    bad = write(tmp_path / "j.jsonl", [{"prompt": "p", "response_a": "a", "verdict": "B"}])
    with pytest.raises(UserError, match=r"j\.jsonl:1: field 'response_b'"):
        load_pairs(f"judgments:{bad}")


def test_chat_prompts_in_pair_files(tmp_path: Path) -> None:
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "and?"}]  # fmt: skip
    path = write(tmp_path / "p.jsonl", [{"prompt": chat, "chosen": "c", "rejected": "r"}])
    assert load_pairs(str(path))[0].prompt == chat
    assert [m.content for m in load_prompts(str(path))[0]] == ["hi", "hello", "and?"]


def test_prompts_from_a_suite_and_from_hh(shared_data: Path) -> None:
    assert len(load_prompts("harmful-smoke", limit=3)) == 3
    hh = load_prompts(f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}", 5)
    assert len(hh) == 5 and all(chat[-1].role == "user" for chat in hh)


def test_hub_source_without_network_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # Both libraries read these at import; when another test imported them first, only the
    # module constants take effect (else the test waits for network timeouts).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    with pytest.raises(UserError, match="cannot load from the hub"):
        load_pairs("hf:no-such-owner/no-such-dataset")
