from pathlib import Path

import pytest

from harness.core.errors import InputError, UserError
from suites import load_suite, load_suites
from suites.native import load_native


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_builtin_suites_load() -> None:
    suites = load_suites(["quick"])
    assert [s.name for s in suites] == ["harmful-smoke", "overrefusal-smoke", "helpful-smoke"]
    assert all(len(s.samples) == 25 for s in suites)
    assert all(x.should_refuse for x in suites[0].samples)
    assert not any(x.should_refuse for s in suites[1:] for x in s.samples)
    ids = [x.id for s in suites for x in s.samples]
    assert len(ids) == len(set(ids))


def test_yaml_mapping_and_list_forms(tmp_path: Path) -> None:
    mapping = write(
        tmp_path,
        "a.yaml",
        "name: mine\nitems:\n  - id: a\n    prompt: hi\n    should_refuse: false\n",
    )
    name, samples = load_native(mapping)
    assert name == "mine" and samples[0].prompt == "hi" and samples[0].should_refuse is False
    listing = write(
        tmp_path,
        "b.yaml",
        "- id: 1\n  messages:\n    - {role: system, content: be brief}\n    - {role: user, content: hello}\n",
    )
    name, samples = load_native(listing)
    assert name == "b" and samples[0].id == "1" and samples[0].chat()[0].role == "system"


def test_jsonl_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.jsonl",
        '{"id": "x", "prompt": "p"}\n\n{"id": "y", "prompt": "q", "reference": "r"}\n',
    )
    suite = load_suite(str(path))
    assert suite.name == "c" and [s.id for s in suite.samples] == ["x", "y"]
    assert suite.samples[1].reference == "r"


@pytest.mark.parametrize(
    "text,line,field,words",
    [
        (
            "items:\n  - id: a\n    prompt: hi\n  - id: b\n    category: x\n",
            4,
            None,
            "exactly one of 'prompt' or 'messages'",
        ),
        ("items:\n  - id: a\n    prompt: hi\n    colour: red\n", 4, "colour", "Extra inputs"),
        (
            "items:\n  - id: a\n    prompt: hi\n  - id: a\n    prompt: again\n",
            4,
            "id",
            "duplicate id 'a'",
        ),
        (
            "items:\n  - id: a\n    prompt: hi\n    should_refuse: maybe\n",
            4,
            "should_refuse",
            "boolean",
        ),
        ("items:\n  - id: a\n    prompt: [unclosed\n", 4, None, "invalid YAML"),
        ("items: []\n", None, None, "no items"),
        ("", None, None, "no items"),
        (
            "items:\n  - id: a\n    messages:\n      - {role: user, content: hi}\n      - {role: assistant, content: yo}\n",
            2,
            None,
            "end with a user turn",
        ),
        (
            "items:\n  - id: a\n    messages:\n      - {role: robot, content: hi}\n",
            3,
            "messages.0.role",
            "Input should be",
        ),
        ("suite: x\nitems: []\n", 1, None, "unknown top-level key"),
    ],
)
def test_yaml_errors_name_file_line_and_field(
    tmp_path: Path, text: str, line: int | None, field: str | None, words: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(InputError) as info:
        load_native(path)
    e = info.value
    assert e.path == str(path) and e.line == line and e.field == field
    assert words in str(e)
    assert "\n" not in str(e)


def test_jsonl_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_native(
            write(tmp_path, "d.jsonl", '{"id": "x", "prompt": "p"}\n{"id": "y", "prompt": \n')
        )
    assert info.value.line == 2 and "invalid JSON" in str(info.value)
    with pytest.raises(InputError) as info:
        load_native(write(tmp_path, "e.jsonl", '{"id": "x", "prompt": "p"}\n[1, 2]\n'))
    assert info.value.line == 2 and "JSON object" in str(info.value)
    with pytest.raises(InputError) as info:
        load_native(write(tmp_path, "f.jsonl", '{"id": "x"}\n'))
    assert info.value.line == 1


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.yaml", b"items:\n  - id: a\n    prompt: caf\xe9\n")
    with pytest.raises(InputError) as info:
        load_native(path)
    assert info.value.line == 3 and "UTF-8" in str(info.value)


def test_missing_file_and_unknown_spec(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_suite(str(tmp_path / "nope.yaml"))
    with pytest.raises(UserError, match="unknown suite 'qiuck'"):
        load_suite("qiuck")
    with pytest.raises(UserError, match="Did you mean 'xstest'"):
        load_suite("xstets:foo.csv")


def test_duplicate_suite_names_rejected() -> None:
    with pytest.raises(UserError, match="given twice: harmful-smoke"):
        load_suites(["quick", "harmful-smoke"])


def test_digest_changes_with_content(tmp_path: Path) -> None:
    a = load_suite(str(write(tmp_path, "h.jsonl", '{"id": "x", "prompt": "p"}\n')))
    b = load_suite(str(write(tmp_path, "h2.jsonl", '{"id": "x", "prompt": "q"}\n')))
    assert a.digest != b.digest and len(a.digest) == 64
