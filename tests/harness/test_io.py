"""Bad input files give one line naming file and line, never a traceback (harness.core.io
and the readers built on it)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import InputError
from harness.core.io import iter_csv, iter_json_records, iter_jsonl, read_yaml
from judges.llm.template import load_template
from judges.personas.personas import load_personas
from suites.native import load_native

runner = CliRunner()


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(b"\xef\xbb\xbfid,prompt\n1,hello\n")
    [(line, row)] = list(iter_csv(path, ("id", "prompt")))
    assert row == {"id": "1", "prompt": "hello"} and line == 2
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_bytes(b'\xef\xbb\xbf{"id": "1"}\n')
    assert list(iter_jsonl(jsonl)) == [(1, {"id": "1"})]


@pytest.mark.parametrize("name", ["deep.jsonl", "deep.json"])
def test_deeply_nested_json_is_a_one_line_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = "[" * 100_000 + "]" * 100_000
    path.write_text(text if name.endswith(".json") else '{"a": ' + text + "}\n")
    reader = iter_json_records if name.endswith(".json") else iter_jsonl
    with pytest.raises(InputError, match="nested too deeply") as info:
        list(reader(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "invalid YAML"),
        ("a: [1, 2\n", "invalid YAML"),
    ],
)
def test_bad_yaml_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_yaml(path)
    with pytest.raises(InputError, match=message):
        load_personas(path)
    suite = tmp_path / "suite.yaml"
    suite.write_text(text.replace("a:", "items:"))
    with pytest.raises(InputError, match=r"suite\.yaml"):  # refused before any item is built
        load_native(suite)


def test_deeply_nested_yaml_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: " + "[" * 1100 + "]" * 1100 + "\n")
    with pytest.raises(InputError, match="nested too deeply"):
        read_yaml(path)


def test_invalid_utf8_in_templates_personas_and_train_config(tmp_path: Path) -> None:
    folder = tmp_path / "tmpl"
    folder.mkdir()
    (folder / "config.yaml").write_bytes(b"kind: pairwise\nname: \xff\n")
    (folder / "prompt.txt").write_text("### user\n{prompt}")
    with pytest.raises(InputError, match=r"config\.yaml:2: not valid UTF-8"):
        load_template(str(folder))
    bad = tmp_path / "p.yaml"
    bad.write_bytes(b"personas:\n  - name: \xfe\n")
    with pytest.raises(InputError, match="not valid UTF-8"):
        load_personas(bad)
    config = tmp_path / "train.yaml"
    config.write_bytes(b"max_steps: 2\n# \xff\n")
    result = runner.invoke(
        app,
        [
            *("train", "sft", "--model", "smollm2", "--data", str(config)),
            *("--config", str(config), "--out", str(tmp_path / "o")),
        ],
    )
    assert result.exit_code == 2 and "not valid UTF-8" in result.output
    assert not (tmp_path / "o").exists()
