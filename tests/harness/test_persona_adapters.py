"""Per-user adapters: one LoRA adapter per persona from `harness compare --personas`
judgments, evaluated unmerged with `--adapter`, and judged by every persona. The experiment
(minutes): with scripted concise and thorough persona judges, each user's adapter wins under
its own user's judge on held-out prompts."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from judges.scorers.style import words
from tests.judges.test_personas import persona_judge
from tests.support.fake_endpoint import FakeEndpoint
from trainers.data import load_pairs

runner = CliRunner()

PERSONAS = """personas:
  - name: concise
    profile: Prefers short, direct answers that get to the point in a sentence or two.
  - name: thorough
    profile: Prefers detailed, complete answers with reasoning, examples and caveats.
"""


def single_turn_pairs(shared_data: Path) -> list:
    """HH-RLHF pairs with one user turn and answers of different lengths."""
    pairs = load_pairs(f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}")
    return [
        p
        for p in pairs
        if len(p.prompt) == 1 and words(p.chosen) != words(p.rejected) and len(p.prompt[0]["content"]) < 300
    ]  # fmt: skip


def write_contest(tmp_path: Path, pairs: list, name: str) -> tuple[Path, Path, Path]:
    """A suite of the pairs' prompts and two stored-outputs files (chosen, rejected)."""
    suite, first, second = (tmp_path / f"{name}{s}" for s in (".jsonl", "-a.json", "-b.json"))
    suite.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p.prompt[0]["content"]}) + "\n"
                             for i, p in enumerate(pairs)))  # fmt: skip
    for path, side in ((first, "chosen"), (second, "rejected")):
        rows = [{"instruction": p.prompt[0]["content"], "output": getattr(p, side)} for p in pairs]
        path.write_text(json.dumps(rows))
    return suite, first, second


@pytest.mark.model
@pytest.mark.experiment
def test_each_users_adapter_wins_under_its_own_users_judge(
    tmp_path: Path, shared_data: Path, smollm2_dir: Path
) -> None:
    pairs = single_turn_pairs(shared_data)
    train, heldout = pairs[:64], pairs[64:94]
    personas = tmp_path / "personas.yaml"
    personas.write_text(PERSONAS)
    suite, first, second = write_contest(tmp_path, train, "train")
    store = tmp_path / "s.db"
    with FakeEndpoint(reply=persona_judge) as ep:
        # 1. Each persona's preferences: stored answers judged once per persona.
        judged = tmp_path / "judged"
        result = runner.invoke(app, [
            "compare", "--model", f"a=outputs:{first}", "--model", f"b=outputs:{second}",
            "--baseline", "a", "--suite", str(suite), "--judge", "openai:j", "--judge-base-url",
            ep.url, "--personas", str(personas), "--scorers", "none", "--out", str(judged),
            "--store", str(store)])  # fmt: skip
        assert result.exit_code == 0, result.output

        # 2. One adapter per persona, unmerged.
        adapters = tmp_path / "adapters"
        result = runner.invoke(app, [
            "train", "dpo", "--lora", "--lora-target-modules", "all-linear", "--personas", str(personas), "--judgments", str(judged),
            "--out", str(adapters), "--max-steps", "8", "--batch-size", "8",
            "--learning-rate", "2e-3", "--max-length", "160"])  # fmt: skip
        assert result.exit_code == 0, result.output
        listed = json.loads((adapters / "adapters.json").read_text())["adapters"]
        assert set(listed) == {"concise", "thorough"}
        for name in listed:
            assert (adapters / name / "adapter_config.json").is_file()
            assert not (adapters / name / "config.json").exists()  # not merged
        # Their training data are the persona's own verdicts: the concise persona chose the
        # shorter answer, the thorough one the longer, on every decided pair.
        for name, shorter in (("concise", True), ("thorough", False)):
            rows = [
                json.loads(x)
                for x in (adapters / "preferences" / f"{name}.jsonl").read_text().splitlines()
            ]
            assert len(rows) == listed[name]["pairs"] == 64
            assert all((len(r["chosen"]) < len(r["rejected"])) == shorter for r in rows)

        # 3. Both adapters and the base on held-out prompts, judged by every persona.
        held, _, _ = write_contest(tmp_path, heldout, "heldout")
        out = tmp_path / "cmp"
        result = runner.invoke(app, [
            "compare", "--model", "base=smollm2", "--adapter", f"concise={adapters / 'concise'}",
            "--adapter", f"thorough={adapters / 'thorough'}", "--baseline", "base",
            "--suite", str(held), "--judge", "openai:j", "--judge-base-url", ep.url,
            "--personas", str(personas), "--scorers", "none", "--max-new-tokens", "192",
            "--out", str(out), "--store", str(store)])  # fmt: skip
        assert result.exit_code == 0, result.output

        # The Python API resumes the same work: adapters kept, answers and verdicts stored.
        import harness
        from harness.core.records import GenerationParams
        from trainers.config import DPOTrainConfig

        asked = len(ep.requests)
        again = harness.train_persona_adapters(
            DPOTrainConfig(data=str(judged), out=adapters, lora=True, lora_target_modules="all-linear",
                           max_steps=8, batch_size=8, learning_rate=2e-3, max_length=160),
            str(personas), str(judged),
        )  # fmt: skip
        assert again == json.loads((adapters / "adapters.json").read_text())
        compared = harness.compare(
            harness.CompareConfig(
                models=("base=smollm2",), adapters=(f"concise={adapters / 'concise'}",
                f"thorough={adapters / 'thorough'}"), baseline="base", suites=(str(held),),
                judge="openai:j", judge_base_url=ep.url, personas=str(personas), scorers=(),
                params=GenerationParams(max_new_tokens=192), out=tmp_path / "api", store=store)
        )  # fmt: skip
        assert len(ep.requests) == asked

    payload = json.loads((out / "winrates.json").read_text())
    assert compared.winrates["personas"]["adapter_fit"] == payload["personas"]["adapter_fit"]
    answers = [json.loads(x) for x in (out / "judgments.jsonl").read_text().splitlines()]
    mean_words = {
        m: sum(words(j["response_b"]) for j in answers if j["model_b"] == m) / 30
        for m in ("concise", "thorough")
    }
    assert mean_words["concise"] < mean_words["thorough"]
    fit = payload["personas"]["adapter_fit"]
    assert fit["adapters"] == ["concise", "thorough"]
    for own in fit["own"]:
        assert own["wins_for_its_user"], own
    # The matrix is the persona verdicts' mean, recounted from personas.jsonl.
    rows = [json.loads(x) for x in (out / "personas.jsonl").read_text().splitlines()]
    mine = [
        r["preference"] for r in rows if r["persona"] == "concise" and r["model_b"] == "concise"
    ]
    assert fit["matrix"]["concise"]["concise"]["value"] == pytest.approx(sum(mine) / len(mine))
    # The adapters were applied, not merged: the engine identity names each adapter.
    models = payload["manifest"]["models"]
    assert models["concise"]["adapter"]["path"] == str((adapters / "concise").resolve())
    assert "adapter" not in models["base"]
    summary = (out / "summary.md").read_text()
    assert "Per-user adapters judged by every persona" in summary and "wins for its user" in summary


def test_persona_training_needs_lora_dpo_and_judgments(tmp_path: Path) -> None:
    base = ["train", "dpo", "--personas", "default", "--out", str(tmp_path / "a")]
    for args, message in [
        ([*base, "--judgments", str(tmp_path)], "add --lora"),
        ([*base, "--lora"], "--personas and --judgments go together"),
        (["train", "sft", "--lora", "--personas", "default", "--judgments", str(tmp_path),
          "--out", str(tmp_path / "a")], "use `train dpo`"),
        ([*base, "--lora", "--judgments", str(tmp_path)], "no personas.jsonl"),
        ([*base, "--lora", "--judgments", str(tmp_path), "--eval-every", "2", "--eval-suite",
          "quick"], "--eval-every does not combine with --personas"),
    ]:  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
    assert not (tmp_path / "a").exists()


def test_too_few_preferences_for_a_persona_is_refused(tmp_path: Path) -> None:
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text(
        json.dumps({"persona": "concise", "prompt": "q", "chosen": "a", "rejected": "b"}) + "\n"
    )
    personas = tmp_path / "p.yaml"
    personas.write_text(PERSONAS)
    result = runner.invoke(app, ["train", "dpo", "--lora", "--personas", str(personas),
                                 "--judgments", str(prefs), "--out", str(tmp_path / "a")])  # fmt: skip
    assert result.exit_code == 2 and "concise: 1, thorough: 0" in result.stderr


def test_adapter_flags_are_checked_before_any_work(tmp_path: Path) -> None:
    adapter = tmp_path / "ad"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    common = [
        "--baseline",
        "base",
        "--suite",
        "quick",
        "--judge",
        "openai:j",
        "--out",
        str(tmp_path / "o"),
    ]
    for extra, message in [
        (["--adapter", "nameless"], "give NAME=DIR"),
        (["--adapter", f"x={tmp_path / 'none'}"], "no adapter_config.json"),
    ]:
        result = runner.invoke(app, ["compare", "--model", "base=smollm2", *extra, *common])
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    result = runner.invoke(
        app, ["run", "--model", str(adapter), "--suite", "quick", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "a LoRA adapter, not a model" in result.stderr
    assert "--adapter NAME=" in result.stderr


def test_an_adapter_for_other_base_weights_is_refused(tmp_path: Path) -> None:
    from harness.core.errors import UserError
    from harness.engines.models import ResolvedModel, resolve_adapter

    adapter = tmp_path / "ad"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    base = ResolvedModel("smollm2", "/m", "f" * 16)
    plain = resolve_adapter(str(adapter), base)  # no manifest: nothing to check against
    assert plain.base_fingerprint is None and len(plain.fingerprint) == 16
    (adapter / "manifest.json").write_text(json.dumps({"base_model": {"fingerprint": "0" * 16}}))
    with pytest.raises(UserError, match="trained on other base weights"):
        resolve_adapter(str(adapter), base)
    (adapter / "manifest.json").write_text(json.dumps({"base_model": {"fingerprint": "f" * 16}}))
    assert resolve_adapter(str(adapter), base).base_fingerprint == "f" * 16
    # A changed adapter changes its fingerprint (and so the cache keys of its answers).
    (adapter / "adapter_config.json").write_text('{"r": 8}')
    assert resolve_adapter(str(adapter), base).fingerprint != plain.fingerprint


def test_a_checkpoint_from_before_a_new_setting_is_kept(tmp_path: Path) -> None:
    from harness.core.errors import UserError
    from harness.jobs.kept_training import train_or_keep
    from trainers.config import DPOTrainConfig

    wanted = DPOTrainConfig(data="d.jsonl", out=tmp_path / "ck")
    older = json.loads(wanted.model_dump_json())
    del older["lora_merge"]  # a manifest written before the setting existed
    wanted.out.mkdir()
    (wanted.out / "manifest.json").write_text(json.dumps({"config": older}))
    said: list[str] = []
    train_or_keep(wanted, "ck", said.append)
    assert said == [f"ck: kept from an earlier run ({wanted.out})"]
    with pytest.raises(UserError, match="other settings"):
        train_or_keep(wanted.model_copy(update={"lora_merge": False}), "ck", said.append)
    with pytest.raises(UserError, match="other settings"):
        train_or_keep(wanted.model_copy(update={"beta": 0.5}), "ck", said.append)
