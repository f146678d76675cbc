"""AlpacaEval statistics against the published leaderboard, and pure-function checks."""

import csv
import dataclasses
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from harness.cli import app
from harness.core.errors import InputError
from harness.jobs.winrate import annotations_by_model, leaderboard, read_annotations
from harness.stats.length_control import (
    Annotation,
    Difficulty,
    Prior,
    fit_many,
    is_extreme_change,
    joint_difficulty,
    lc_winrates,
    model_lc,
)
from harness.stats.winrate import head_to_head, paired_difference
from suites.alpaca_eval_difficulty import instruction_key, provenance, shipped_difficulty

FIELDS_EXACT = ("n_wins", "n_wins_base", "n_draws", "n_total", "avg_length")
FIELDS_FLOAT = ("win_rate", "standard_error", "discrete_win_rate")


@pytest.fixture(scope="module")
def published(shared_data: Path) -> dict[str, dict[str, str]]:
    path = shared_data / "alpaca_eval" / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
    with path.open() as f:
        return {row[""]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def annotation_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "alpaca_eval" / "annotations").glob("*.jsonl.gz"))


@pytest.fixture(scope="module")
def per_file(annotation_files: list[Path]) -> dict[Path, dict[str, list[dict]]]:
    """Each file read once for the module."""
    return {path: read_annotations([path]) for path in annotation_files}


@pytest.fixture(scope="module")
def board(per_file: dict[Path, dict[str, list[dict]]]) -> dict[str, dict]:
    merged = {name: rows for models in per_file.values() for name, rows in models.items()}
    board = leaderboard(merged, shipped_difficulty())
    return {row["model"]: row for row in board.rows}


def test_published_figures_reproduce_exactly(
    board: dict, published: dict, annotation_files: list[Path]
) -> None:
    assert len(board) == len(annotation_files) == 32  # one row per file, named after it
    for model, row in board.items():
        pub = published[model]
        for field in FIELDS_EXACT:
            assert row[field] == int(pub[field]), (model, field)
        for field in FIELDS_FLOAT:
            assert row[field] == pytest.approx(float(pub[field]), abs=1e-6), (model, field)


def test_single_file_lc_against_published(per_file: dict, published: dict) -> None:
    """Each shared file alone, on the shipped difficulty (fitted on these same files, so this
    is in-sample; the held-out figures are in the provenance and checked below)."""
    difficulty = shipped_difficulty()
    alone = {}
    for models in per_file.values():
        [row] = leaderboard(models, difficulty).rows
        alone[row["model"]] = row
    models = sorted(alone)
    ours = np.array([alone[m]["length_controlled_winrate"] for m in models])
    theirs = np.array([float(published[m]["length_controlled_winrate"]) for m in models])
    err = np.abs(ours - theirs)
    # Measured: MAE 0.65, worst 2.83 (text_davinci_001), Spearman 0.986.
    assert err.mean() <= 1.0 and err.max() <= 3.0
    assert spearmanr(ours, theirs).statistic >= 0.98
    # Length control moves the length-gamed entry the way the published figure does.
    assert alone["gpt4_gamed"]["length_controlled_winrate"] > 2 * alone["gpt4_gamed"]["win_rate"]
    assert all(0 < alone[m]["lc_standard_error"] < 5 for m in models)


def test_lc_is_the_same_alone_and_with_others(per_file: dict, board: dict) -> None:
    difficulty = shipped_difficulty()
    for models in list(per_file.values())[:3] + list(per_file.values())[-2:]:
        [row] = leaderboard(models, difficulty).rows
        assert row["length_controlled_winrate"] == board[row["model"]]["length_controlled_winrate"]
        assert row["lc_standard_error"] == board[row["model"]]["lc_standard_error"]


def test_shipped_validation_figures_are_what_the_code_gives(per_file: dict) -> None:
    """The provenance's leave-one-model-out LC for two models, recomputed: difficulty
    refitted without the model, the model fitted alone under the prior calibrated without it
    (recorded per fold; the calibration itself is checked below)."""
    meta = provenance()
    merged = {name: rows for models in per_file.values() for name, rows in models.items()}
    models = annotations_by_model(merged)
    assert sorted(models) == meta["models"]
    for name in ("claude-2", "FuseChat-Llama-3.2-3B-Instruct"):
        others = {m: a for m, a in models.items() if m != name}
        fold = meta["validation"]["models"][name]
        difficulty = Difficulty(joint_difficulty(others).values, Prior(**fold["prior"]), "fold")
        assert model_lc(models[name], difficulty).winrate == pytest.approx(fold["lc"], abs=1e-3)
    validation = meta["validation"]
    assert validation["mae"] <= 1.0 and validation["spearman"] >= 0.98
    assert validation["max_abs_error"] <= 3.0


def test_shipped_prior_is_what_the_calibration_gives(per_file: dict, published: dict) -> None:
    """The provenance's prior, recomputed by the regeneration tool's own calibration on all
    the shared models (deterministic: Nelder-Mead from the joint fit's default)."""
    from tools.alpaca_eval_difficulty import calibrate

    merged = {name: rows for models in per_file.values() for name, rows in models.items()}
    models = annotations_by_model(merged)
    target = {m: float(published[m]["length_controlled_winrate"]) for m in models}
    prior = calibrate(models, target, joint_difficulty(models))
    shipped = provenance()["prior"]
    for field, value in dataclasses.asdict(prior).items():
        assert value == pytest.approx(shipped[field], abs=1e-4), field


def test_calibrated_prior_fits_the_published_figures_better_than_the_default(
    per_file: dict, published: dict
) -> None:
    """The shipped prior (calibrated on these models' published LC) against the uncalibrated
    default of a joint fit (phi toward the population slope, gamma toward 1): in-sample,
    the calibration must lower the mean absolute error, or it did nothing."""
    merged = {name: rows for models in per_file.values() for name, rows in models.items()}
    models = annotations_by_model(merged)
    shipped = shipped_difficulty()
    default = Difficulty(shipped.values, Prior(provenance()["phi_population"]), "default")

    def mae(difficulty: Difficulty) -> float:
        errors = [
            model_lc(rows, difficulty).winrate - float(published[m]["length_controlled_winrate"])
            for m, rows in models.items()
        ]
        return float(np.mean(np.abs(errors)))

    assert mae(shipped) < mae(default) - 0.05


def test_shipped_vector_covers_alpaca_eval(per_file: dict) -> None:
    difficulty = shipped_difficulty()
    rows = next(iter(per_file.values()))
    keys = {instruction_key(r["instruction"]) for group in rows.values() for r in group}
    assert len(difficulty.values) == 805 and keys <= set(difficulty.values)
    assert abs(float(np.mean(list(difficulty.values.values())))) < 1e-5


def test_head_to_head_against_pandas() -> None:
    rng = np.random.default_rng(3)
    prefs = list(1 + rng.random(200))
    prefs[:5] = [1.5, 0, 1.0, 2.0, None]
    out = head_to_head(prefs)
    s = pd.Series([1.5 if p == 0 else p for p in prefs if p is not None], dtype=float) - 1
    assert out["win_rate"] == pytest.approx(s.mean() * 100)
    assert out["standard_error"] == pytest.approx(s.sem() * 100)
    assert out["n_total"] == 199 and out["n_draws"] == 2
    assert out["n_wins"] + out["n_wins_base"] + out["n_draws"] == 199
    discrete = s.where(s == 0.5, s.round())
    assert out["discrete_win_rate"] == pytest.approx(discrete.mean() * 100)


def test_discrete_win_rate_rounds_first_as_alpaca_eval() -> None:
    """AlpacaEval's zero-one rule, step by step in pandas: 1.5 -> 0, round, Int64, then the
    head-to-head description (0 -> 1.5, keep 1..2, mean - 1)."""
    prefs = [2.3, 0.6, 0.4, 2.5, 0.5, 1.5, 0, None, 1.49, 1.51, 2.0, 1.0, 3.7, -0.2]
    rounded = pd.Series(prefs, dtype=float).replace({1.5: 0}).round().astype(pd.Int64Dtype())
    described = rounded.astype(float).replace({0.0: 1.5})
    described = described[(described >= 1) & (described <= 2)] - 1
    assert head_to_head(prefs)["discrete_win_rate"] == pytest.approx(described.mean() * 100)
    assert len(described) == 12  # 2.3, 0.6, 0.4, 2.5, 0.5 and -0.2 (rounds to 0, a draw) count
    with pytest.raises(ValueError):
        head_to_head([None, 3.0])


def test_baseline_against_itself_is_fifty(tmp_path: Path) -> None:
    rows = [
        {
            "instruction": f"q{i}",
            "output_1": "x" * i,
            "output_2": "x" * i,
            "generator_1": "base",
            "generator_2": "base",
            "preference": 1.5,
        }
        for i in range(1, 30)
    ]
    path = tmp_path / "base.json"
    path.write_text(json.dumps(rows))
    [row] = leaderboard(read_annotations([path]), shipped_difficulty()).rows
    assert (
        row["length_controlled_winrate"] == 50.0
        and row["win_rate"] == 50.0
        and row["n_draws"] == 29
    )


def test_bad_annotation_rows_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"instruction": "q", "output_1": "a", "output_2": "b", "generator_2": "m", "preference": 1.2}\n'
        '{"instruction": "q", "output_1": "a", "output_2": "b", "generator_2": "m", "preference": "high"}\n'
    )
    with pytest.raises(InputError) as info:
        read_annotations([path])
    assert (info.value.line, info.value.field) == (2, "preference")


def test_winrate_cli_json(annotation_files: list[Path], published: dict) -> None:
    result = CliRunner().invoke(
        app, ["winrate", *map(str, annotation_files), "--format", "alpaca_eval", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["model"] for r in rows} == set(published) & {r["model"] for r in rows}
    assert len(rows) == len(annotation_files)
    for r in rows:
        assert set(r) >= {*FIELDS_EXACT, *FIELDS_FLOAT, "length_controlled_winrate"}
        assert r["win_rate"] == pytest.approx(float(published[r["model"]]["win_rate"]), abs=1e-6)


def test_paired_difference() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(400) * 0.6
    b = np.clip(a + 0.1 + rng.normal(0, 0.2, 400), 0, 1)
    out = paired_difference(a, b, n_boot=5000)
    d = b - a
    assert out["difference"] == pytest.approx(d.mean() * 100)
    se = d.std(ddof=1) / math.sqrt(len(d)) * 100
    assert out["ci_low"] == pytest.approx(out["difference"] - 1.96 * se, abs=0.3)
    assert out["ci_high"] == pytest.approx(out["difference"] + 1.96 * se, abs=0.3)
    assert out["p_value"] < 0.001 and out["n"] == 400
    expected_n = math.ceil(((1.959964 + 0.841621) * d.std(ddof=1) / d.mean()) ** 2)
    assert out["n_needed"] == pytest.approx(expected_n, abs=1)
    same = paired_difference(a, a + rng.normal(0, 0.05, 400), n_boot=5000)
    assert same["p_value"] > 0.01
    assert out["note"] is None


def test_paired_difference_at_small_n_or_without_spread() -> None:
    """Every prompt differs by the same amount: the bootstrap gives one value (a zero-width
    interval and p = 1 / n_boot). Instead: the exact two-sided sign test, computed here from
    binomial coefficients, and no interval, with the reason."""
    a, b = np.full(12, 0.5), np.full(12, 0.0)  # B loses half a point on every prompt
    out = paired_difference(a, b)
    assert out["difference"] == pytest.approx(-50.0)
    assert out["p_value"] == pytest.approx(2 * 0.5**12)
    assert out["ci_low"] is None and out["ci_high"] is None and out["n_needed"] is None
    assert "all 12 differences are equal" in out["note"]
    few = paired_difference([0.0, 0.0, 0.5], [1.0, 0.5, 0.5])  # two wins, one tie: n = 3
    assert few["p_value"] == pytest.approx(2 * sum(math.comb(2, k) for k in (2,)) / 2**2)
    assert few["ci_low"] is None and "n = 3: too few prompts" in few["note"]


def _rows(n: int, generator: str, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "instruction": f"question {i}",
            "output_1": "b" * int(rng.integers(50, 400)),
            "output_2": "m" * int(rng.integers(50, 400)),
            "generator_1": "base",
            "generator_2": generator,
            "annotator": "test-judge",
            "preference": float(1 + rng.random()),
        }
        for i in range(n)
    ]


def test_names_keep_dots_and_follow_alpaca_eval_layout(tmp_path: Path) -> None:
    (tmp_path / "claude-2.1_concise.json").write_text(json.dumps(_rows(20, "x")))
    with gzip.open(tmp_path / "gpt-3.5-turbo-0301.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(r) for r in _rows(20, "y")))
    layout = tmp_path / "results" / "FuseChat-Llama-3.1-8B-Instruct" / "judge"
    layout.mkdir(parents=True)
    (layout / "annotations.json").write_text(json.dumps(_rows(20, "z")))
    loose = tmp_path / "elsewhere"
    loose.mkdir()
    (loose / "annotations.json").write_text(json.dumps(_rows(20, "Llama-3.2-1B")))
    paths = [
        tmp_path / "claude-2.1_concise.json",
        tmp_path / "gpt-3.5-turbo-0301.jsonl.gz",
        layout / "annotations.json",
        loose / "annotations.json",
    ]
    assert list(read_annotations(paths)) == [
        "claude-2.1_concise",
        "gpt-3.5-turbo-0301",
        "FuseChat-Llama-3.1-8B-Instruct",
        "Llama-3.2-1B",
    ]


def test_two_files_for_one_model_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "m-3.1.json").write_text(json.dumps(_rows(5, "a")))
    (tmp_path / "m-3.1.jsonl").write_text("\n".join(json.dumps(r) for r in _rows(5, "b")))
    with pytest.raises(InputError) as info:
        read_annotations([tmp_path / "m-3.1.json", tmp_path / "m-3.1.jsonl"])
    assert "m-3.1.json" in str(info.value) and "m-3.1.jsonl" in str(info.value)


def test_lc_standard_error_against_a_bootstrap() -> None:
    """The delta-method standard error against refits on resampled instructions."""
    rng = np.random.default_rng(1)
    n = 400
    d = rng.normal(0, 1, n)
    delta = rng.normal(0, 300, n)
    logit = -1.0 - 1.8 * np.tanh(delta / delta.std(ddof=1)) + d
    y = np.clip(1 / (1 + np.exp(-logit)) + rng.normal(0, 0.1, n), 0, 1)
    rows = [Annotation(f"i{k}", 1000, int(1000 - delta[k]), float(y[k])) for k in range(n)]
    difficulty = Difficulty({f"i{k}": float(d[k]) for k in range(n)}, Prior(-1.8), "test")
    fit = model_lc(rows, difficulty)
    boots = [
        model_lc([rows[k] for k in rng.integers(0, n, n)], difficulty).winrate for _ in range(300)
    ]
    assert fit.standard_error == pytest.approx(float(np.std(boots, ddof=1)), rel=0.2)


def test_batched_newton_fit_against_an_independent_optimiser() -> None:
    """`fit_many` (damped Newton, models batched and padded) against scipy's BFGS on the
    penalised soft-label loss written out here, model by model; and a model whose every
    label is 0 (theta runs off to minus infinity) still gives a finite fit and LC near 0."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    prior = Prior(phi_mean=-1.5, phi_strength=10.0, gamma_mean=0.4, gamma_strength=30.0)
    lengths = [805, 300, 40]
    x = np.zeros((3, 805, 3))
    y = np.zeros((3, 805))
    mask = np.zeros((3, 805))
    for k, n in enumerate(lengths):
        z, d = np.tanh(rng.normal(size=n)), rng.normal(size=n)
        x[k, :n] = np.column_stack([np.ones(n), z, d])
        y[k, :n] = 1 / (1 + np.exp(-(-0.5 - 2.0 * z + 0.8 * d + rng.normal(0, 1, n))))
        mask[k, :n] = 1
    fitted = fit_many(x, y, mask, prior)
    mean = np.array([0.0, prior.phi_mean, prior.gamma_mean])
    strength = np.array([0.0, prior.phi_strength, prior.gamma_strength])
    for k, n in enumerate(lengths):
        xs, ys = x[k, :n], y[k, :n]

        def loss(w: np.ndarray, xs: np.ndarray = xs, ys: np.ndarray = ys) -> float:
            logit = xs @ w
            data = ys * np.logaddexp(0, -logit) + (1 - ys) * np.logaddexp(0, logit)
            return float(data.sum() + (strength * (w - mean) ** 2).sum())

        reference = minimize(loss, np.zeros(3), method="BFGS", options={"gtol": 1e-9}).x
        assert fitted[k] == pytest.approx(reference, abs=1e-5)
    lc = lc_winrates(x, y, mask, prior)
    at_zero = 1 / (1 + np.exp(-(fitted[1, 0] + fitted[1, 2] * x[1, :300, 2])))
    assert lc[1] == pytest.approx(100 * at_zero.mean())
    zero = fit_many(x[:1], np.zeros((1, 805)), mask[:1], prior)
    assert (
        np.isfinite(zero).all() and lc_winrates(x[:1], np.zeros((1, 805)), mask[:1], prior)[0] < 0.1
    )


def test_missing_instructions_and_extreme_changes_warn(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_rows(40, "m")))
    board = leaderboard(read_annotations([path]), shipped_difficulty())
    text = " ".join(board.warnings)
    assert "40 of 40 instructions are not in the difficulty vector" in text
    assert "annotations are by test-judge" in text
    assert is_extreme_change(20.0, 45.0) and is_extreme_change(20.0, 9.0)
    assert not is_extreme_change(20.0, 29.0) and not is_extreme_change(50.0, 40.0)


def test_difficulty_file_in_alpaca_eval_format(
    tmp_path: Path, annotation_files: list[Path]
) -> None:
    """AlpacaEval's instruction_difficulty.csv layout (index,instruction_difficulty) holding
    the shipped values gives the shipped LC; a bad file is one line and exit 2."""
    shipped = shipped_difficulty()
    keys = [row["key"] for row in csv.DictReader(_builtin_csv().open())]
    theirs = tmp_path / "instruction_difficulty.csv"
    theirs.write_text(
        "index,instruction_difficulty\n"
        + "".join(f"{i},{shipped.values[k]}\n" for i, k in enumerate(keys))
    )
    path = str(annotation_files[0])
    runner = CliRunner()
    a = runner.invoke(app, ["winrate", path, "--json"])
    b = runner.invoke(app, ["winrate", path, "--json", "--difficulty", str(theirs)])
    assert a.exit_code == b.exit_code == 0, b.output
    lc_a, lc_b = (json.loads(r.stdout)["length_controlled_winrate"] for r in (a, b))
    assert lc_a == pytest.approx(lc_b, abs=1e-9)
    theirs.write_text("index,instruction_difficulty\n0,0.5\n1,hard\n")
    bad = runner.invoke(app, ["winrate", path, "--difficulty", str(theirs)])
    assert (
        bad.exit_code == 2
        and f"{theirs}:3" in bad.output
        and "instruction_difficulty" in bad.output
    )


def _builtin_csv() -> Path:
    return Path(__file__).resolve().parents[2] / "suites" / "builtin" / "alpaca_eval_difficulty.csv"


@pytest.mark.parametrize(
    ("preference", "message"),
    [(True, "must be a number"), (2.5, "must lie in [1, 2]"), (-1, "must lie in [1, 2]")],
)
def test_preferences_outside_alpaca_eval_range_are_refused(
    tmp_path: Path, preference: object, message: str
) -> None:
    rows = _rows(3, "m")
    rows[1]["preference"] = preference
    path = tmp_path / "m.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(InputError) as info:
        read_annotations([path])
    assert (info.value.line, info.value.field) == (2, "preference")
    assert message in str(info.value)


def test_no_preference_and_one_row_are_one_line_errors_or_null(tmp_path: Path) -> None:
    rows = _rows(2, "m")
    for r in rows:
        r["preference"] = None
    (tmp_path / "none.json").write_text(json.dumps(rows))
    result = CliRunner().invoke(app, ["winrate", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "none.json" in result.output and "no row" in result.output
    (tmp_path / "one.json").write_text(json.dumps(_rows(1, "m")))
    result = CliRunner().invoke(app, ["winrate", str(tmp_path / "one.json"), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)  # strict JSON: no NaN
    assert row["standard_error"] is None and row["n_total"] == 1


def test_terminal_table_at_80_columns_wraps_names_instead_of_cutting_them(
    annotation_files: list[Path],
) -> None:
    """`alpaca-7b_v…` and `alpaca-7b_c…` looked the same; now every cell folds, nothing is cut."""
    files = [str(f) for f in annotation_files if f.name.startswith("alpaca-7b_")]
    shown = CliRunner().invoke(app, ["winrate", *files], env={"COLUMNS": "80"}, terminal_width=80)
    assert shown.exit_code == 0, shown.output
    assert "…" not in shown.output and "rbose" in shown.output and "ncise" in shown.output
