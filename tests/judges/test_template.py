from pathlib import Path

import pytest

from harness.core.errors import InputError, UserError
from judges.llm.template import builtin_templates, load_template


def test_all_shipped_templates_load() -> None:
    names = builtin_templates()
    assert {
        "pairwise-v1",
        "pairwise-logprob-v1",
        "pairwise-reference-v1",
        "pointwise-v1",
        "refusal-3class-v1",
        "harmfulness-v1",
    } <= set(names)
    for name in names:
        t = load_template(name)
        assert t.user and t.id.startswith(f"{name}@v1:")


def test_render_is_single_pass_and_keeps_braces() -> None:
    t = load_template("pairwise-v1")
    msgs = t.render(
        prompt="Q {response_b}", response_a="uses {json: 1} and {prompt}", response_b="B!"
    )
    assert [m.role for m in msgs] == ["system", "user"]
    user = msgs[1].content
    assert "Q {response_b}" in user and "uses {json: 1} and {prompt}" in user and "B!" in user


def test_reference_block_only_when_given() -> None:
    t = load_template("pointwise-v1")
    with_ref = t.render(prompt="q", response="r", reference="42")[-1].content
    without = t.render(prompt="q", response="r")[-1].content
    assert "Reference Answer]\n42" in with_ref and "Reference" not in without


def test_user_template_folder_and_errors(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.yaml").write_text("kind: classify\nlabels: [good, bad]\n")
    (folder / "prompt.txt").write_text("### user\nIs this good? {response}\n")
    t = load_template(str(folder))
    assert t.name == "mine" and t.config.labels == ["good", "bad"] and t.system == ""
    (folder / "config.yaml").write_text("kind: ranking\n")
    with pytest.raises(InputError, match="kind"):
        load_template(str(folder))
    with pytest.raises(UserError, match="unknown judge template"):
        load_template("pairwise-v9")
    # A template that never shows the judge the answers would make it choose blind.
    (folder / "config.yaml").write_text("kind: pairwise\n")
    (folder / "prompt.txt").write_text("### user\nWhich is better, A or B? {prompt}\n")
    with pytest.raises(InputError, match=r"must show the judge \{response_a\} and \{response_b\}"):
        load_template(str(folder))
