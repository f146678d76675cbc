"""`harness compare` with scripted models and a scripted judge with planted preferences."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import UserError
from harness.core.records import GenerationParams
from harness.jobs.compare import parse_model_entry
from harness.stats.intervals import wilson_interval
from tests.support.commands import scripted_run
from tests.support.fake_endpoint import FakeEndpoint

runner = CliRunner()
HOSTILE = ' <script>document.title="pwned"</script><img src=x onerror="document.title=1">'


def prefers_good(messages: list[dict]) -> str:
    text = messages[-1]["content"]
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End", text, re.S)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End", text, re.S)
    assert a and b
    a_good, b_good = "GOOD" in a.group(1), "GOOD" in b.group(1)
    if a_good != b_good:
        return "[[A]]" if a_good else "[[B]]"
    return "Same. [[C]]"


def test_parse_model_entry() -> None:
    d = GenerationParams(max_new_tokens=32)
    e = parse_model_entry("hot=smollm2@temperature=1.0,seed=3", d)
    assert (e.label, e.spec, e.params.temperature, e.params.seed, e.params.max_new_tokens) == (
        "hot",
        "smollm2",
        1.0,
        3,
        32,
    )
    e = parse_model_entry("./ckpt/dpo", d)
    assert (e.label, e.spec, e.params) == ("./ckpt/dpo", "./ckpt/dpo", d)
    with pytest.raises(UserError, match="is not one of"):
        parse_model_entry("m@temp=1", d)
    with pytest.raises(UserError, match="must be a number"):
        parse_model_entry("m@seed=x", d)


def compare_args(out: Path, url: str) -> list[str]:
    return [
        "compare",
        "--model",
        "base=plain",
        "--model",
        "good=good",
        "--model",
        "long=long",
        "--baseline",
        "base",
        "--suite",
        "helpful-smoke",
        "--limit",
        "12",
        "--engine",
        "scripted",
        "--judge",
        "openai:judge",
        "--judge-base-url",
        url,
        "--bootstrap",
        "300",
        "--out",
        str(out),
    ]


def test_compare_recovers_planted_preferences(tmp_path: Path, scripted, shared_data: Path) -> None:
    scripted.settings = {"suffix_by_model": {"good": " GOOD" + HOSTILE, "long": " and so on" * 30}}
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=prefers_good) as ep:
        result = runner.invoke(app, compare_args(out, ep.url))
        assert result.exit_code == 0, result.output
        assert len(ep.requests) == 2 * 2 * 12  # two pairs vs baseline, both orders
        again = runner.invoke(app, compare_args(tmp_path / "again", ep.url))
        assert again.exit_code == 0 and len(ep.requests) == 48  # all from the store
    payload = json.loads((out / "winrates.json").read_text())
    rows = {r["model"]: r for r in payload["models"]}
    assert (
        rows["good"]["win_rate"] == 100.0
        and rows["good"]["n_wins"] == 12
        and rows["good"]["n_total"] == 12
    )
    assert rows["long"]["win_rate"] == 50.0 and rows["long"]["n_draws"] == 12
    assert rows["long"]["avg_length"] > rows["base"]["avg_length"] + 200
    assert rows["long"]["length_controlled_winrate"] == pytest.approx(50.0, abs=5)
    assert rows["good"]["judge_consistency"]["value"] == 1.0
    bt = {r["model"]: r for r in payload["bradley_terry"]["ratings"]}
    assert bt["good"]["rank"] == 1 and bt["good"]["rating"] > bt["long"]["rating"] + 400
    assert bt["base"]["rating"] == pytest.approx(1000) and bt["long"]["rank"] == bt["base"]["rank"]
    # Every battle won, or every battle tied: the same rating in every resample, which is
    # no interval ([1000, 1000] for the ties); the win rate's interval stays honest.
    for model in ("good", "long"):
        assert bt[model]["ci_low"] is None and "every resample" in bt[model]["note"]
    assert rows["long"]["win_rate_ci"] == pytest.approx([100 * x for x in wilson_interval(6, 12)])
    assert 70 < rows["good"]["win_rate_ci"][0] < 100 == rows["good"]["win_rate_ci"][1]
    assert rows["good"]["lc_standard_error"] is None is rows["long"]["lc_standard_error"]
    for page in ("report.html", "summary.md"):  # no "[50.0, 50.0]" or "[1000, 1000]" shown
        text = (out / page).read_text()
        assert not re.search(r"\[(-?\d+(?:\.\d+)?)\s*[,–-]\s*\1\]", text), page
        assert "[50.0, 50.0]" not in text and "[1000, 1000]" not in text
    [test] = payload["paired_tests"]
    assert (test["model_a"], test["model_b"]) == ("good", "long")
    assert test["difference"] == pytest.approx(-50.0) and test["p_value"] < 0.01
    matrix = payload["win_matrix"]
    i = matrix["models"].index("good")
    j = matrix["models"].index("base")
    assert matrix["empirical"][i][j] == 100.0 and matrix["empirical"][j][i] == 0.0
    assert payload["manifest"]["position_swap"] is True
    judgments = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(judgments) == 24 and all(len(j["orders"]) == 2 for j in judgments)
    summary = (out / "summary.md").read_text()
    assert "| good |" in summary and "| base |" in summary
    html = (out / "report.html").read_text()
    for section in ("leaderboard", "charts", "viewer", "judges"):
        assert f'id="{section}"' in html
    assert "<script" not in html and "onerror=" not in html.replace("onerror=&#34;", "")
    # Forest, heatmap and scatter; no Bradley-Terry plot: every rating is the same in every
    # resample (one model wins, one ties every battle), so there is no interval to draw.
    charts = html[html.index('id="charts"') : html.index('id="judges"')]
    assert charts.count("<svg") == 3 and "No plot: no model's rating has an interval" in html
    assert "its rating is the same in every resample of the 12 prompts" in html


def test_compare_scorecard_equals_each_models_own_run(tmp_path: Path, scripted) -> None:
    """The scorecard of a comparison holds each model's metrics as `harness run` of that model
    on the same suites computes them (in a store of its own, so nothing is read back)."""
    scripted.settings = {"suffix_by_model": {"good": " I'm sorry, but I can't help with that."}}
    suites = ["--suite", "harmful-smoke", "--suite", "overrefusal-smoke", "--limit", "4"]
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=prefers_good) as ep:
        result = runner.invoke(
            app,
            ["compare", "--model", "base=plain", "--model", "good=good", "--baseline", "base",
             *suites, "--engine", "scripted", "--judge", "openai:judge", "--judge-base-url",
             ep.url, "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "winrates.json").read_text())
    assert [s["name"] for s in payload["manifest"]["scorers"]] == [
        "refusal",
        "toxicity",
        "diversity",
    ]
    for label, model in (("base", "plain"), ("good", "good")):
        run_out = tmp_path / f"run-{label}"
        ran = runner.invoke(
            app,
            ["run", "--model", model, "--engine", "scripted", *suites, "--out", str(run_out),
             "--store", str(tmp_path / f"store-{label}.sqlite")],
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
        own = json.loads((run_out / "summary.json").read_text())["metrics"]
        assert payload["scorecard"][label] == own
        assert {"harmful_compliance_rate", "over_refusal_rate"} <= {m["metric"] for m in own}
    html = (out / "report.html").read_text()
    assert html.index('id="scorecard"') < html.index('id="tradeoff"') < html.index('id="header"')
    assert (
        "Toxicity scores come from" in html
        and "harmful compliance" in (out / "summary.md").read_text()
    )
    # --scorers none: no scorecard measures but the win rate, and no trade-off plot.
    with FakeEndpoint(reply=prefers_good) as ep:
        bare = runner.invoke(
            app,
            ["compare", "--model", "base=plain", "--model", "good=good", "--baseline", "base",
             *suites, "--engine", "scripted", "--judge", "openai:judge", "--judge-base-url",
             ep.url, "--scorers", "none", "--out", str(tmp_path / "bare")],
        )  # fmt: skip
    assert bare.exit_code == 0, bare.output
    page = (tmp_path / "bare" / "report.html").read_text()
    assert (
        'id="scorecard"' in page
        and 'id="tradeoff"' not in page
        and "harmful compliance" not in page
    )


def test_compare_holds_one_model_at_a_time(tmp_path: Path, scripted) -> None:
    """Entries sharing an engine are generated together and each engine is closed after its
    last entry, before the next loads (a GPU fits one vLLM model); the report keeps the
    order the models were given in."""
    scripted.settings = {"suffix_by_model": {"good": " GOOD"}}
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=prefers_good) as ep:
        result = runner.invoke(
            app,
            ["compare", "--model", "base=plain", "--model", "good=good", "--model",
             "hot=plain@temperature=1.0", "--baseline", "base", "--suite", "helpful-smoke",
             "--limit", "3", "--engine", "scripted", "--judge", "openai:judge",
             "--judge-base-url", ep.url, "--scorers", "none", "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [e for i, e in enumerate(scripted.events) if e != scripted.events[i - 1]] == [
        ("create", "plain"),
        ("generate", "plain"),  # base, then hot, on the same engine
        ("close", "plain"),
        ("create", "good"),
        ("generate", "good"),
        ("close", "good"),
    ]
    assert scripted.events.count(("generate", "plain")) == 2 * scripted.events.count(
        ("generate", "good")
    )
    payload = json.loads((out / "winrates.json").read_text())
    assert [r["model"] for r in payload["models"]] == ["base", "good", "hot"]
    assert list(payload["manifest"]["models"]) == ["base", "good", "hot"]


def test_failed_judgments_exit_3_and_resume(tmp_path: Path, scripted) -> None:
    scripted.settings = {"suffix_by_model": {"good": " GOOD"}}
    with FakeEndpoint(reply=prefers_good, fault_rates={"401": 0.2}, seed=2) as ep:
        first = runner.invoke(app, compare_args(tmp_path / "a", ep.url))
        failed, asked = ep.faults_served["401"], len(ep.requests)
        assert first.exit_code == 3 and f"{failed} judgment(s) failed" in first.stderr
        ep.fault_rates = {}
        again = runner.invoke(app, compare_args(tmp_path / "b", ep.url))
        assert again.exit_code == 0, again.output
        assert 0 < len(ep.requests) - asked <= failed  # only the failed ones again
    rows = {
        r["model"]: r for r in json.loads((tmp_path / "b" / "winrates.json").read_text())["models"]
    }
    assert rows["good"]["win_rate"] == 100.0 and rows["good"]["n_total"] == 12
    # The first comparison said how many pairs got a verdict, and warned under 90%.
    first_rows = {
        r["model"]: r for r in json.loads((tmp_path / "a" / "winrates.json").read_text())["models"]
    }
    for model in ("good", "long"):
        share = first_rows[model]["judge_verdict_share"]
        assert share["n"] == 12 and share["value"] == first_rows[model]["n_total"] / 12
        assert share["ci_low"] < share["value"] <= share["ci_high"]
        warned = f"Unreliable judge \\(on {model} vs base\\): only"
        assert (warned in (tmp_path / "a" / "summary.md").read_text()) == (share["value"] < 0.9)
    assert rows["good"]["judge_verdict_share"]["value"] == 1.0
    assert "got a verdict" not in (tmp_path / "b" / "summary.md").read_text()


def test_compare_input_errors(tmp_path: Path, scripted) -> None:
    base = [
        "compare",
        "--suite",
        "helpful-smoke",
        "--engine",
        "scripted",
        "--judge",
        "openai:j",
        "--judge-base-url",
        "http://127.0.0.1:9/v1",
        "--out",
        str(tmp_path / "o"),
    ]
    one = runner.invoke(app, [*base, "--model", "a", "--baseline", "a"])
    assert one.exit_code == 2 and "at least two" in one.stderr
    missing = runner.invoke(app, [*base, "--model", "a", "--model", "b", "--baseline", "c"])
    assert missing.exit_code == 2 and "--baseline 'c' is not one of the models" in missing.stderr
    template = runner.invoke(
        app,
        [*base, "--model", "a", "--model", "b", "--baseline", "a", "--template", "pointwise-v1"],
    )
    assert template.exit_code == 2 and "not a pairwise template" in template.stderr


@pytest.mark.model
@pytest.mark.slow
def test_compare_on_the_embedded_model_at_two_temperatures(
    tmp_path: Path, smollm2_dir: Path
) -> None:
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            "--model",
            "base=smollm2",
            "--model",
            "hot=smollm2@temperature=1.0,seed=1",
            "--baseline",
            "base",
            "--suite",
            "helpful-smoke",
            "--limit",
            "3",
            "--max-new-tokens",
            "24",
            "--judge",
            "local:smollm2",
            "--template",
            "pairwise-logprob-v1",
            "--bootstrap",
            "200",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "winrates.json").read_text())
    hot = next(r for r in payload["models"] if r["model"] == "hot")
    assert hot["n_total"] + hot["judge_failed"] == 3
    assert 0.0 <= hot["win_rate"] <= 100.0 and hot["length_controlled_winrate"] is not None
    judgments = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(judgments) == 3 and all(
        [o["order"] for o in j["orders"]] == ["AB", "BA"] for j in judgments
    )
    assert any(
        j["response_a"] != j["response_b"] for j in judgments
    )  # temperature made a difference
    assert payload["manifest"]["judge_usage"][0]["requests"] == 6
    # 3 prompts: too few for Bradley-Terry intervals or ranks, so no BT plot, and the page
    # says why; the win rate keeps a (wide) interval.
    page = (out / "report.html").read_text()
    charts = page[page.index('id="charts"') : page.index('id="judges"')]
    assert charts.count("<svg") == 3 and (out / "summary.md").exists()
    n_prompts = payload["bradley_terry"]["n_prompts"]
    assert n_prompts <= 3 and f"n = {n_prompts}: too few prompts to tell" in page
    bt = payload["bradley_terry"]["ratings"]
    assert all(r["ci_low"] is None and r["rank"] is None for r in bt)
    low, high = hot["win_rate_ci"]
    assert high - low > 40


def stored_compare_args(exported: Path, limit: int, url: str, out: Path, *extra: str) -> list[str]:
    """`harness compare` of a run's exported outputs (as stored outputs) against model `good`."""
    return [
        "compare",
        "--model",
        f"stored=outputs:{exported}",
        "--model",
        "good=good",
        "--baseline",
        "stored",
        "--suite",
        "helpful-smoke",
        "--limit",
        str(limit),
        "--engine",
        "scripted",
        "--judge",
        "openai:j",
        "--judge-base-url",
        url,
        *extra,
        "--out",
        str(out),
    ]


def test_alpaca_eval_outputs_round_trip(tmp_path: Path, scripted) -> None:
    """Export a run as model_outputs.json, then compare it (as stored outputs) to a model."""
    run_out = tmp_path / "run"
    ran = runner.invoke(app, scripted_run("helpful-smoke", run_out, "--limit", "4"))
    assert ran.exit_code == 0, ran.output
    exported = tmp_path / "model_outputs.json"
    done = runner.invoke(
        app, ["export-alpaca-eval", str(run_out), "--output", str(exported), "--generator", "mine"]
    )
    assert done.exit_code == 0, done.output
    rows = json.loads(exported.read_text())
    assert len(rows) == 4 and rows[0]["generator"] == "mine" and rows[0]["dataset"] == "math"
    assert rows[0]["instruction"] == "What is 17 multiplied by 23?"
    assert rows[0]["output"] == "Here is my answer to: What is 17 multiplied by 23?"
    # Stored outputs stand in for a model; a prompt with no output fails loudly.
    scripted.settings = {"suffix_by_model": {"good": " GOOD"}}
    with FakeEndpoint(reply=prefers_good) as ep:
        result = runner.invoke(
            app, stored_compare_args(exported, 4, ep.url, tmp_path / "cmp", "--bootstrap", "100")
        )
        assert result.exit_code == 0, result.output
        more = runner.invoke(app, stored_compare_args(exported, 5, ep.url, tmp_path / "cmp2"))
        assert more.exit_code == 2 and "generation failed for 1 item" in more.stderr
    payload = json.loads((tmp_path / "cmp" / "winrates.json").read_text())
    good = next(r for r in payload["models"] if r["model"] == "good")
    assert good["win_rate"] == 100.0 and good["n_total"] == 4


def prefers_longer(messages: list[dict]) -> str:
    text = messages[-1]["content"]
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End", text, re.S)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End", text, re.S)
    assert a and b
    return "[[A]]" if len(a.group(1)) > len(b.group(1)) else "[[B]]"


class InFlight:
    """Which scripted judges are answering at the same moment (each sleeps a little)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.most = 0

    def wrap(self, name: str, reply):
        import time

        def answer(messages: list[dict]) -> str:
            with self.lock:
                self.now[name] = self.now.get(name, 0) + 1
                self.most = max(self.most, sum(1 for v in self.now.values() if v))
            time.sleep(0.01)
            with self.lock:
                self.now[name] -= 1
            return reply(messages)

        return answer


def test_compare_with_a_judge_panel(tmp_path: Path, scripted) -> None:
    """Two judges as a panel on compare: the panel's win rates, each member's own, the split
    rate, all against what each scripted judge does; the members answer at the same time."""
    scripted.settings = {"suffix_by_model": {"good": " GOOD", "long": " and so on" * 30}}
    out = tmp_path / "cmp"
    seen = InFlight()
    replies = {
        "judge": seen.wrap("judge", prefers_good),
        "longer": seen.wrap("longer", prefers_longer),
    }
    with FakeEndpoint(reply_by_model=replies) as ep:
        args = compare_args(out, ep.url)
        args += ["--judge", "openai:longer", "--judge-concurrency", "1", "--scorers", "none"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert len(ep.requests) == 2 * 2 * 2 * 12  # two members, two pairs, both orders
    assert seen.most == 2  # one request in flight per member, and both members at once
    payload = json.loads((out / "winrates.json").read_text())
    rows = {r["model"]: r for r in payload["models"]}
    panel = payload["panel"]
    assert panel["spec"] == "panel(openai:judge, openai:longer; vote)"
    own = {n: {r["model"]: r for r in rs} for n, rs in panel["member_win_rates"].items()}
    # The quality judge: good always wins, long ties; the length judge: both win (both are
    # longer than the base's answers). The panel agrees on good and splits on long: a tie.
    assert own["openai:judge"]["good"]["win_rate"] == 100.0
    assert own["openai:judge"]["long"]["win_rate"] == 50.0
    assert (
        own["openai:longer"]["good"]["win_rate"]
        == 100.0
        == own["openai:longer"]["long"]["win_rate"]
    )
    assert rows["good"]["win_rate"] == 100.0 and rows["long"]["win_rate"] == 50.0
    assert rows["long"]["n_draws"] == 12
    assert panel["split_rate"]["value"] == pytest.approx(0.5) and panel["split_rate"]["n"] == 24
    usage = payload["manifest"]["judge_usage"]
    assert [u["judge"] for u in usage] == ["openai:judge", "openai:longer"]
    assert all(u["requests"] == 48 for u in usage)
    summary = (out / "summary.md").read_text()
    assert "#### Judge panel: panel\\(openai:judge, openai:longer; vote\\)" in summary
    assert (
        "| long | 50.0 [" in summary and "Cohen's kappa, openai:judge vs openai:longer" in summary
    )
    html = (out / "report.html").read_text()
    assert 'id="panel"' in html and "openai:judge vs openai:longer" in html
    assert "answered as" not in summary  # two members answering as two models is no banner
