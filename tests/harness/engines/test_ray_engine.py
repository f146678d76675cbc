"""Data-parallel generation on a local Ray cluster: 2 replicas give exactly the items and
greedy outputs of the single-process run."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import UserError
from harness.engines.base import EngineConfig
from harness.engines.ray_engine import RayShardedEngine

runner = CliRunner()


@pytest.fixture
def local_ray() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def completions(run_dir: Path) -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in (run_dir / "items.jsonl").read_text().splitlines()]
    return [(r["suite"], r["id"], r["completion"]) for r in rows]


@pytest.mark.model
@pytest.mark.slow
def test_two_replicas_match_one_process(tmp_path: Path, smollm2_dir: Path, local_ray: None) -> None:
    common = [
        *("run", "--model", "smollm2", "--suite", "harmful-smoke", "--suite", "helpful-smoke"),
        *("--limit", "5", "--max-new-tokens", "24", "--scorers", "refusal-rules"),
        *("--batch-size", "3"),
    ]
    single = runner.invoke(
        app, [*common, "--out", str(tmp_path / "one"), "--store", str(tmp_path / "one.sqlite")]
    )
    assert single.exit_code == 0, single.output
    sharded = runner.invoke(
        app,
        [
            *common,
            *("--replicas", "2", "--out", str(tmp_path / "two")),
            *("--store", str(tmp_path / "two.sqlite")),
        ],
    )
    assert sharded.exit_code == 0, sharded.output
    assert "10 generated" in sharded.output
    assert completions(tmp_path / "two") == completions(tmp_path / "one")
    one = json.loads((tmp_path / "one" / "summary.json").read_text())
    two = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert two["metrics"] == one["metrics"]
    assert two["manifest"]["engine"] == one["manifest"]["engine"]  # same cache identity
    assert two["manifest"]["config"]["replicas"] == 2


def test_endpoint_engines_are_not_sharded() -> None:
    with pytest.raises(UserError, match="already sends requests concurrently"):
        RayShardedEngine("openai", EngineConfig(model="gpt-4o"), replicas=2)
