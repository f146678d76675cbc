"""Process vs outcome supervision with scripted judges on planted step errors, PRM800K
input, step splitting and final-answer checks, and `harness process` end to end."""

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import InputError
from judges.process.solutions import load_solutions
from judges.process.steps import split_steps
from suites.math_answers import answers_match, final_answer, normalised_answer
from suites.suite import load_suite
from tests.support.fake_endpoint import FakeEndpoint

runner = CliRunner()
PLANTED = Path(str(resources.files("judges.process") / "data" / "planted-arithmetic.jsonl"))
EQUATION = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/x])\s*(-?\d+(?:\.\d+)?)\s*=\s*(-?\d+(?:\.\d+)?)")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "x": lambda a, b: a * b, "/": lambda a, b: a / b if b else float("nan")}  # fmt: skip


def arithmetic_label(step: str) -> str:
    """What a careful grader of arithmetic says of one step."""
    found = EQUATION.findall(step)
    if not found:
        return "neutral"
    ok = all(abs(OPS[op](float(a), float(b)) - float(c)) < 1e-9 for a, op, b, c in found)
    return "correct" if ok else "incorrect"


def scripted_judge(messages: list[dict]) -> str:
    """Process judge: recomputes the step's arithmetic. Outcome judge: cannot check, so it
    calls an answer correct when it matches the solution's own last equation."""
    text = messages[-1]["content"]
    if "[Step to check]" in text:
        step = text.split("[Step to check]\n", 1)[1].split("\n\nIs this step correct?")[0]
        return f"Checked the arithmetic. [[{arithmetic_label(step)}]]"
    solution = text.split("[Solution]\n", 1)[1].split("\n\nIs the final answer")[0]
    results = [c for *_, c in EQUATION.findall(solution)]
    answer = final_answer(solution)
    consistent = bool(results) and answer is not None and answers_match(answer, results[-1])
    return "Looks consistent. [[correct]]" if consistent else "[[incorrect]]"


def test_split_steps_modes() -> None:
    numbered = "First we read.\nStep 1: 3 * 4 = 12\nStep 2: add 1\n#### 13"
    assert split_steps(numbered) == ["First we read.", "3 * 4 = 12", "add 1"]
    assert split_steps("1. a = 2\n2) b = 3.5 now") == ["a = 2", "b = 3.5 now"]
    assert split_steps("It costs 2.5 dollars. So 2 cost 5.0 dollars! Done.") == [
        "It costs 2.5 dollars.",
        "So 2 cost 5.0 dollars!",
        "Done.",
    ]
    assert split_steps("a\n\n b \n", "lines") == ["a", "b"] and split_steps("  \n") == []


def test_final_answer_and_match() -> None:
    assert final_answer("so 3 * 4 = 12\n#### 1,200") == "1200"
    assert final_answer("The answer is $18.") == "18"
    assert final_answer(r"thus \boxed{7}") == "7" and final_answer("no number") is None
    assert final_answer("I got 5 then 6.") == "6"
    assert answers_match("18.0", "18") and not answers_match("17", "18")
    assert answers_match("x", "X") and not answers_match(None, "1")
    assert normalised_answer("8") == normalised_answer("8.0") == normalised_answer("$8")


def test_math_suite_and_errors(tmp_path: Path) -> None:
    suite = load_suite("math-smoke")
    assert len(suite.samples) == 12 and suite.samples[0].reference == "12"
    assert "The answer is <number>" in (suite.samples[0].prompt or "")
    bad = tmp_path / "g.jsonl"
    bad.write_text(
        '{"question": "q", "answer": "so\\n#### 4"}\n{"question": "r", "answer": "#### many"}\n'
    )
    with pytest.raises(InputError, match=r"g\.jsonl:2: field .answer."):
        load_suite(f"gsm8k:{bad}")


def test_planted_errors_metrics_and_best_of_n(tmp_path: Path) -> None:
    out = tmp_path / "prm"
    with FakeEndpoint(reply=scripted_judge) as ep:
        args = ["process", "--solutions", str(PLANTED), "--judge", "openai:j",
                "--judge-base-url", ep.url, "--out", str(out)]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        solutions = load_solutions(PLANTED)
        n_steps = sum(len(s.steps) for s in solutions)
        assert len(ep.requests) == n_steps + len(solutions)
        again = runner.invoke(app, [*args[:-1], str(tmp_path / "again")])
        assert again.exit_code == 0 and len(ep.requests) == n_steps + len(solutions)
    payload = json.loads((out / "process.json").read_text())
    m = payload["metrics"]
    # Independent counts from the file and the grader's rule.
    right = [s for s in solutions if answers_match(s.final, s.reference or "")]
    wrong_step = {
        s.id for s in solutions if any(arithmetic_label(x) == "incorrect" for x in s.steps)
    }
    assert m["final_answer_accuracy"]["value"] == len(right) / 12 == 0.5
    assert m["solutions_with_wrong_step"]["value"] == len(wrong_step) / 12
    rawn = [s.id for s in right if s.id in wrong_step]
    assert sorted(rawn) == ["q1-c", "q2-c"]
    assert m["right_answer_wrong_step"] == pytest.approx(
        {**m["right_answer_wrong_step"], "value": 2 / 6, "n": 6}
    )
    incorrect = sum(arithmetic_label(x) == "incorrect" for s in solutions for x in s.steps)
    assert m["step_error_rate"]["value"] == pytest.approx(incorrect / n_steps)
    lo, hi = m["step_error_rate"]["ci_low"], m["step_error_rate"]["ci_high"]
    assert lo < incorrect / n_steps < hi
    rows = {r["id"]: r for r in map(json.loads, (out / "solutions.jsonl").read_text().splitlines())}
    assert rows["q4-a"]["first_wrong_step"] == 2 and rows["q1-c"]["first_wrong_step"] == 1
    assert rows["q4-b"]["first_wrong_step"] is None and rows["q1-a"]["prm_min"] == 0.5
    agree = payload["agreement_with_labels"]
    pairs = [
        (h, arithmetic_label(x))
        for s in solutions
        for h, x in zip(s.labels or (), s.steps, strict=False)
    ]
    assert agree["step_label_agreement"]["value"] == pytest.approx(
        sum(h == j for h, j in pairs) / len(pairs)
    )
    assert agree["first_wrong_step_agreement"]["value"] == 1.0  # every planted error found
    acc = {k: v["value"] for k, v in payload["best_of_n"]["accuracy"].items()}
    assert acc == {"prm_min": 1.0, "prm_product": 1.0, "orm": 0.25, "majority": 0.5,
                   "first": 0.25, "oracle": 1.0}  # fmt: skip
    assert payload["best_of_n"]["prm_min_minus_orm"]["difference"] == pytest.approx(75.0)
    html = (out / "report.html").read_text()
    assert 'id="best-of-n"' in html and 'class="error"' in html
    # 4 questions: the difference without an interval, and the exact sign test's p.
    said = (out / "summary.md").read_text()
    assert "PRM (min) - ORM: +75.0 points (n = 4: too few questions to tell" in said
    assert "p = 0.25," in said


def test_failed_judgments_exit_3_and_resume(tmp_path: Path) -> None:
    args = [
        "process",
        "--solutions",
        str(PLANTED),
        "--judge",
        "openai:j",
        "--out",
        str(tmp_path / "o"),
    ]
    with FakeEndpoint(reply=scripted_judge, fault_rates={"401": 0.3}, seed=1) as ep:
        first = runner.invoke(app, [*args, "--judge-base-url", ep.url])
        failed, asked = ep.faults_served["401"], len(ep.requests)
        assert first.exit_code == 3 and f"{failed} judgment(s) failed" in first.stderr
        ep.fault_rates = {}  # the endpoint recovers
        again = runner.invoke(app, [*args, "--judge-base-url", ep.url])
        assert again.exit_code == 0, again.output
        # Only what failed is asked again (fewer when an identical request had succeeded).
        assert 0 < len(ep.requests) - asked <= failed
        clean = runner.invoke(
            app, [*args[:-1], str(tmp_path / "clean"), "--judge-base-url", ep.url,
                  "--store", str(tmp_path / "fresh.sqlite")],
        )  # fmt: skip
        assert clean.exit_code == 0, clean.output
    resumed = json.loads((tmp_path / "o" / "process.json").read_text())
    fresh = json.loads((tmp_path / "clean" / "process.json").read_text())
    for key in ("metrics", "agreement_with_labels", "best_of_n"):
        assert resumed[key] == fresh[key]


def test_prm800k_rows(tmp_path: Path) -> None:
    row = {
        "labeler": "x",
        "question": {"problem": "What is 2 + 3 * 4?", "ground_truth_answer": "14"},
        "label": {
            "steps": [
                {"completions": [{"text": "3 * 4 = 12.", "rating": 1}], "chosen_completion": 0,
                 "human_completion": None},
                {"completions": [{"text": "2 + 12 = 15.", "rating": -1},
                                 {"text": "2 + 12 = 14.", "rating": 1}],
                 "chosen_completion": None, "human_completion": None},
            ],
            "finish_reason": "found_error",
        },
    }  # fmt: skip
    path = tmp_path / "prm800k.jsonl"
    path.write_text(json.dumps(row) + "\n")
    [s] = load_solutions(path)
    assert s.steps == ("3 * 4 = 12.", "2 + 12 = 15.") and s.labels == ("correct", "incorrect")
    assert s.reference == "14" and s.final == "15"
    row["label"]["steps"][1]["completions"][0]["rating"] = 5  # type: ignore[index]
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=r"jsonl:1: field .label\.steps\.1."):
        load_solutions(path)


def test_own_format_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "question": "q", "steps": ["x"], "labels": ["right"]}\n')
    with pytest.raises(InputError, match="labels"):
        load_solutions(path)
    path.write_text('{"id": "a", "question": "q"}\n')
    with pytest.raises(InputError, match=r"s\.jsonl:1"):
        load_solutions(path)


@pytest.mark.model
@pytest.mark.slow
def test_process_on_the_embedded_model(tmp_path: Path, smollm2_dir: Path) -> None:
    out = tmp_path / "prm"
    with FakeEndpoint(reply=scripted_judge) as ep:
        result = runner.invoke(
            app,
            ["process", "--model", "smollm2", "--suite", "math-smoke", "--limit", "2", "--n", "2",
             "--max-new-tokens", "48", "--judge", "openai:j", "--judge-base-url", ep.url,
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = [json.loads(x) for x in (out / "solutions.jsonl").read_text().splitlines()]
        assert len(rows) == 4 and {r["question_id"] for r in rows} == {"m1", "m2"}
        assert len(ep.requests) == sum(len(r["steps"]) for r in rows) + 4
    assert all(len(r["judge_labels"]) == len(r["steps"]) for r in rows)
    payload = json.loads((out / "process.json").read_text())
    assert payload["best_of_n"]["questions"] == 2
    assert payload["manifest"]["model"]["params"]["n"] == 2


def test_the_generating_model_is_freed_before_judging(tmp_path: Path, scripted) -> None:
    """The step judge may load a model of its own: the candidates' engine is closed once
    they are generated."""
    with FakeEndpoint(reply=scripted_judge) as ep:
        result = runner.invoke(
            app,
            ["process", "--model", "m", "--engine", "scripted", "--suite", "math-smoke",
             "--limit", "2", "--n", "2", "--judge", "openai:j", "--judge-base-url", ep.url,
             "--out", str(tmp_path / "prm")],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert scripted.events == [("create", "m"), ("generate", "m"), ("close", "m")]


def test_a_step_error_rate_without_errors_keeps_an_interval() -> None:
    """No step is wrong in any solution: the bootstrap over solutions has no spread, and the
    interval is Wilson's with the solutions as the count. Solutions whose steps are all wrong
    or all right (the most clustered case, true rate 0.03) keep their coverage that way."""
    import numpy as np

    from harness.stats.intervals import wilson_interval
    from judges.process.metrics import _clustered_ratio

    steps = np.array([3.0, 5.0, 4.0, 6.0] * 5)
    none_wrong = _clustered_ratio(np.zeros(20), steps, n_boot=300)
    assert none_wrong["value"] == 0.0 and none_wrong["n"] == 90
    assert (none_wrong["ci_low"], none_wrong["ci_high"]) == pytest.approx(wilson_interval(0, 20))
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(400):
        wrong = rng.random(20) < 0.03  # a wrong solution has every step wrong
        found = _clustered_ratio(np.where(wrong, steps, 0.0), steps, n_boot=200)
        covered += found["ci_low"] <= 0.03 <= found["ci_high"]
    assert covered / 400 >= 0.9
