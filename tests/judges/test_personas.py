"""Personalised judging: per-persona win rates and verdict movement, with a scripted judge
that reads the persona profile, through `harness compare --personas`."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import InputError, UserError
from judges.llm.template import load_template
from judges.personas.personas import load_personas, persona_statistics
from tests.harness.test_compare import compare_args, prefers_good
from tests.support.fake_endpoint import FakeEndpoint

runner = CliRunner()


SPLIT_RATES = {"concise": 0.0, "thorough": 100.0, "novice": 50.0, "expert": 50.0, "cautious": 50.0}
"""Per-persona win rates of the long model when the concise persona always prefers the
short answer, the thorough one the long, and the other three tie."""


def persona_judge(messages: list[dict]) -> str:
    """Prefers the shorter answer for users who want brevity, the longer one for users who
    want detail, and calls a tie for everyone else; no profile: the general judge."""
    system = messages[0]["content"]
    if "[User Profile]" not in system:
        return prefers_good(messages)
    text = messages[-1]["content"]
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End", text, re.S)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End", text, re.S)
    assert a and b
    shorter = "[[A]]" if len(a.group(1)) < len(b.group(1)) else "[[B]]"
    longer = "[[B]]" if shorter == "[[A]]" else "[[A]]"
    if "short, direct" in system:
        return "Brief is better here. " + shorter
    if "detailed" in system:
        return "More detail helps. " + longer
    return "Either serves. [[C]]"


def test_template_renders_the_profile_once() -> None:
    t = load_template("pairwise-persona-v1")
    [system, user] = t.render(
        prompt="q {persona}", response_a="a", response_b="b", persona="Likes {prompt} tables."
    )
    assert "Likes {prompt} tables." in system.content and "q {persona}" in user.content


def test_compare_reports_win_rates_per_persona(tmp_path: Path, scripted) -> None:
    scripted.settings = {"suffix_by_model": {"long": " and so on" * 30}}
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=persona_judge) as ep:
        args = compare_args(out, ep.url)
        at = args.index("good=good")
        del args[at - 1 : at + 1]  # two models: base and long
        result = runner.invoke(app, [*args, "--personas", "default"])
        assert result.exit_code == 0, result.output
        assert len(ep.requests) == 12 * 2 * (1 + 5)  # general + five personas, both orders
    payload = json.loads((out / "winrates.json").read_text())
    [c] = payload["personas"]["comparisons"]
    assert (c["model_a"], c["model_b"]) == ("base", "long")
    rates = {p: h["win_rate"] for p, h in c["per_persona"].items()}
    assert rates == SPLIT_RATES
    assert c["flip_rate"]["value"] == 1.0 and c["flip_rate"]["n"] == 12
    assert c["winrate_range"]["value"] == 100.0
    assert (c["winrate_range"]["highest"], c["winrate_range"]["lowest"]) == ("thorough", "concise")
    assert (
        c["agreement"]["concise"]["thorough"] == 0.0 and c["agreement"]["novice"]["expert"] == 1.0
    )
    general = c["agreement_with_general"]  # the general judge calls every pair a tie
    assert general["novice"]["value"] == 1.0 and general["concise"]["value"] == 0.0
    rows = [json.loads(line) for line in (out / "personas.jsonl").read_text().splitlines()]
    assert len(rows) == 60 and {r["persona"] for r in rows} == set(rates)
    html = (out / "report.html").read_text()
    assert 'id="personas"' in html and "Prefers short, direct answers" in html
    assert "| long vs base |" in (out / "summary.md").read_text()


def test_a_judge_without_verdicts_still_gets_a_report(tmp_path: Path, scripted) -> None:
    """A judge that never gives a verdict (the embedded model's habit): every statistic
    says so instead of the report failing."""
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=lambda messages: "17 times 23 is 391.") as ep:
        args = compare_args(out, ep.url)
        result = runner.invoke(app, [*args, "--personas", "default"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "winrates.json").read_text())
    assert all(c["n_complete"] == 0 for c in payload["personas"]["comparisons"])
    assert "no verdicts" in (out / "report.html").read_text()


def test_compare_refuses_a_template_without_persona(tmp_path: Path, scripted) -> None:
    with FakeEndpoint(reply=persona_judge) as ep:
        args = compare_args(tmp_path / "o", ep.url)
        result = runner.invoke(
            app, [*args, "--personas", "default", "--persona-template", "pairwise-v1"]
        )
    assert result.exit_code == 2 and "no {persona} placeholder" in result.stderr


def test_persona_statistics_match_a_direct_count() -> None:
    rng = np.random.default_rng(3)
    prefs = {p: rng.choice([0.0, 0.5, 1.0], size=40).tolist() for p in ("x", "y", "z")}
    prefs["y"][5] = None  # a failed judgment drops that prompt from the cross-persona measures
    stats = persona_statistics(prefs, general=[1.0] * 40, n_boot=500)
    keep = [k for k in range(40) if k != 5]
    verdicts = {p: [np.sign(prefs[p][k] - 0.5) for k in keep] for p in prefs}
    flips = sum(len({verdicts[p][i] for p in prefs}) > 1 for i in range(len(keep)))
    assert stats["flip_rate"]["value"] == pytest.approx(flips / 39) and stats["n_complete"] == 39
    spread = np.mean(
        [max(prefs[p][k] for p in prefs) - min(prefs[p][k] for p in prefs) for k in keep]
    )
    assert stats["mean_spread"]["value"] == pytest.approx(spread)
    lo, hi = stats["mean_spread"]["ci_low"], stats["mean_spread"]["ci_high"]
    assert lo <= spread <= hi
    same = np.mean([verdicts["x"][i] == verdicts["z"][i] for i in range(39)])
    assert stats["agreement"]["x"]["z"] == pytest.approx(same)
    assert stats["per_persona"]["y"]["n_total"] == 39
    wins_x = np.mean([prefs["x"][k] for k in keep]) * 100
    assert stats["agreement_with_general"]["x"]["value"] == pytest.approx(
        np.mean([v == 1 for v in verdicts["x"]])
    )
    rates = [np.mean([prefs[p][k] for k in keep]) * 100 for p in prefs]
    assert stats["winrate_range"]["value"] == pytest.approx(max(rates) - min(rates))
    assert wins_x in rates


def test_persona_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("personas:\n  - name: a\n    profile: x\n  - name: b\n")
    with pytest.raises(InputError, match=r"p\.yaml") as e:
        load_personas(bad)
    assert "profile" in str(e.value)
    dup = tmp_path / "d.yaml"
    dup.write_text("personas:\n  - {name: a, profile: x}\n  - {name: a, profile: y}\n")
    with pytest.raises(UserError, match="unique"):
        load_personas(dup)
    assert [p.name for p in load_personas("default")][:2] == ["concise", "thorough"]


@pytest.mark.model
@pytest.mark.slow
def test_personas_on_the_embedded_model(tmp_path: Path, smollm2_dir: Path) -> None:
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=persona_judge) as ep:
        result = runner.invoke(
            app,
            ["compare", "--model", "short=smollm2@max_new_tokens=8",
             "--model", "long=smollm2@max_new_tokens=40", "--baseline", "short",
             "--suite", "helpful-smoke", "--limit", "3", "--judge", "openai:j",
             "--judge-base-url", ep.url, "--personas", "default", "--bootstrap", "100",
             "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    [c] = json.loads((out / "winrates.json").read_text())["personas"]["comparisons"]
    lengths = [
        (len(j["response_a"]), len(j["response_b"]))
        for j in map(json.loads, (out / "judgments.jsonl").read_text().splitlines())
    ]
    longer = sum(b > a for a, b in lengths)
    assert c["per_persona"]["thorough"]["n_wins"] == longer  # the long answers win for them
    assert c["per_persona"]["concise"]["n_wins_base"] == longer
    assert c["flip_rate"]["value"] == longer / 3


def test_winrate_range_is_calibrated_under_no_persona_effect() -> None:
    """Five exchangeable personas (no persona effect): the raw range is far above zero, the
    permutation null accounts for it (excess near 0, p-values near uniform); a real effect
    is found."""
    rng = np.random.default_rng(0)
    ranges, excess, p_values = [], [], []
    for _ in range(100):
        prefs = {f"p{j}": rng.choice([0.0, 0.5, 1.0], size=40).tolist() for j in range(5)}
        r = persona_statistics(prefs, n_boot=400)["winrate_range"]
        ranges.append(r["value"])
        excess.append(r["excess"])
        p_values.append(r["p_value"])
    assert np.mean(ranges) > 10  # the bias the permutation null corrects
    assert abs(np.mean(excess)) < 2.0
    assert np.mean(np.array(p_values) < 0.05) <= 0.12
    shifted = {f"p{j}": rng.choice([0.0, 0.5, 1.0], size=40).tolist() for j in range(4)}
    shifted["fan"] = [1.0] * 40
    found = persona_statistics(shifted, n_boot=400)["winrate_range"]
    assert found["p_value"] < 0.01 and found["highest"] == "fan"


def test_winrate_range_p_value_against_full_enumeration() -> None:
    """Two personas on 8 prompts: all 2^8 label swaps enumerated give the exact p-value."""
    import itertools

    a = np.array([1.0, 1.0, 0.5, 1.0, 0.0, 1.0, 1.0, 0.5])
    b = np.array([0.0, 0.5, 0.5, 0.0, 0.0, 1.0, 0.5, 0.0])
    observed = abs(a.mean() - b.mean()) * 100
    null = []
    for swap in itertools.product([False, True], repeat=8):
        s = np.array(swap)
        x, y = np.where(s, b, a), np.where(s, a, b)
        null.append(abs(x.mean() - y.mean()) * 100)
    exact = float(np.mean(np.array(null) >= observed - 1e-9))
    r = persona_statistics({"a": a.tolist(), "b": b.tolist()}, n_boot=20000)["winrate_range"]
    assert r["value"] == pytest.approx(observed)
    assert r["p_value"] == pytest.approx(exact, abs=0.01)
    assert r["null_mean"] == pytest.approx(float(np.mean(null)), abs=0.5)


def test_personas_with_a_judge_panel(tmp_path: Path, scripted) -> None:
    """A panel of two judges that read profiles alike gives the one judge's per-persona win
    rates; each persona row keeps both members' results."""
    scripted.settings = {"suffix_by_model": {"long": " and so on" * 30}}
    out = tmp_path / "cmp"
    with FakeEndpoint(reply_by_model={"judge": persona_judge, "twin": persona_judge}) as ep:
        args = compare_args(out, ep.url)
        at = args.index("good=good")
        del args[at - 1 : at + 1]
        result = runner.invoke(
            app, [*args, "--judge", "openai:twin", "--personas", "default", "--scorers", "none"]
        )
        assert result.exit_code == 0, result.output
        assert len(ep.requests) == 2 * 12 * 2 * (1 + 5)  # two members
    payload = json.loads((out / "winrates.json").read_text())
    [c] = payload["personas"]["comparisons"]
    rates = {p: h["win_rate"] for p, h in c["per_persona"].items()}
    assert rates == SPLIT_RATES
    rows = [json.loads(line) for line in (out / "personas.jsonl").read_text().splitlines()]
    assert all(len(r["members"]) == 2 for r in rows)
    usage = payload["manifest"]["judge_usage"]
    assert [u["judge"] for u in usage[:2]] == ["openai:judge", "openai:twin"]
    assert usage[2]["judge"].startswith("panel(") and len(usage[2]["members"]) == 2


def test_personas_that_always_agree_keep_a_spread_interval() -> None:
    """Every persona gives every prompt the same verdict: the mean spread is 0, and its
    interval is Wilson's for a mean of values in [0, 1] (the bootstrap would be [0, 0])."""
    from harness.stats.intervals import wilson_interval

    same = [1.0, 0.0, 1.0, 0.5] * 5
    stats = persona_statistics({"a": same, "b": same, "c": same}, n_boot=300)
    spread = stats["mean_spread"]
    assert spread["value"] == 0.0 and spread["n"] == 20
    assert (spread["ci_low"], spread["ci_high"]) == pytest.approx(wilson_interval(0, 20))
    assert spread["ci_high"] > 0.1
