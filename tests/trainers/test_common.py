"""A checkpoint appears at --out only when its training finished."""

from pathlib import Path

import pytest

from harness.core.errors import UserError
from trainers.common import checkpoint_dir


def test_finished_work_is_renamed_into_place(tmp_path: Path) -> None:
    tmp_path = tmp_path / "runs"
    out = tmp_path / "ckpt"
    with checkpoint_dir(out) as work:
        assert work != out and not out.exists()
        (work / "model.safetensors").write_text("weights")
    assert (out / "model.safetensors").read_text() == "weights"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_failed_training_leaves_nothing(tmp_path: Path) -> None:
    tmp_path = tmp_path / "runs"
    out = tmp_path / "ckpt"
    with pytest.raises(RuntimeError), checkpoint_dir(out) as work:
        (work / "half.bin").write_text("x")
        raise RuntimeError("killed mid-save")
    assert list(tmp_path.iterdir()) == []


def test_a_stale_partial_is_replaced_and_a_full_out_refused(tmp_path: Path) -> None:
    out = tmp_path / "ckpt"
    stale = tmp_path / ".ckpt.partial"
    stale.mkdir()
    (stale / "old.bin").write_text("from a killed run")
    with checkpoint_dir(out) as work:
        assert not (work / "old.bin").exists()
        (work / "config.json").write_text("{}")
    assert not stale.exists()
    with pytest.raises(UserError, match="not an empty directory"), checkpoint_dir(out):
        pass


def test_a_resumable_work_dir_is_kept_for_the_same_key_only(tmp_path: Path) -> None:
    """With a resume key (in-training evaluation) an interrupted run's work survives, and a
    run with the same key carries on in it; another key starts afresh."""
    out = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt), checkpoint_dir(out, resume_key="a") as work:
        (work / "curves.jsonl").write_text("{}\n")
        raise KeyboardInterrupt
    assert (work / "curves.jsonl").exists() and not out.exists()
    with checkpoint_dir(out, resume_key="a") as again:
        assert again == work and (again / "curves.jsonl").exists()
        with pytest.raises(KeyboardInterrupt), checkpoint_dir(tmp_path / "x", resume_key="b"):
            raise KeyboardInterrupt
    assert (out / "curves.jsonl").exists() and not (out / ".resume-key").exists()
    with pytest.raises(KeyboardInterrupt), checkpoint_dir(tmp_path / "y", resume_key="a") as w:
        (w / "old").write_text("x")
        raise KeyboardInterrupt
    with checkpoint_dir(tmp_path / "y", resume_key="other") as fresh:
        assert not (fresh / "old").exists()
