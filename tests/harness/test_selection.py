"""`--select`: rules read at the edge (a bad term is named), constraints and objectives
applied to point estimates, ties to the earliest step, and the steps an interval does not
separate the choice from."""

import pytest

from harness.stats.selection import pareto_steps, parse_rule, select


def m(value: float, lo: float | None = None, hi: float | None = None) -> dict:
    return {"value": value, "ci_low": lo, "ci_high": hi, "n": 50}


def point(step: int, harmful: float, over: float, win: dict | None = None) -> dict:
    measures = {
        "harmful_compliance_rate": m(harmful, max(0.0, harmful - 0.1), min(1.0, harmful + 0.1)),
        "over_refusal_rate": m(over, max(0.0, over - 0.1), min(1.0, over + 0.1)),
    }
    if win is not None:
        measures["win_rate"] = win
    return {"step": step, "measures": measures}


def test_rules_are_read_at_the_edge() -> None:
    rule = parse_rule("harmful_compliance<=0.2, over_refusal_rate < 0.5,maximise:win_rate")
    assert rule.constraints == (
        ("harmful_compliance_rate", "<=", 0.2),
        ("over_refusal_rate", "<", 0.5),
    )
    assert rule.objective == ("win_rate", True) and not rule.pareto
    assert parse_rule("pareto").pareto
    assert parse_rule("minimize:self_bleu").objective == ("self_bleu", False)
    with pytest.raises(ValueError, match=r"'harmful<=0\.2' names no measure"):
        parse_rule("harmful<=0.2")
    with pytest.raises(ValueError, match="two objectives"):
        parse_rule("maximise:win_rate,minimise:over_refusal")
    with pytest.raises(ValueError, match=r"cannot read 'win_rate=0\.5'"):
        parse_rule("win_rate=0.5")


def test_constraints_then_objective_on_point_estimates() -> None:
    points = [
        point(0, 0.9, 0.0, m(0.5)),
        point(10, 0.3, 0.1, m(0.62, 0.55, 0.69)),
        point(20, 0.15, 0.2, m(0.60, 0.53, 0.67)),
        point(30, 0.1, 0.4, m(0.40, 0.33, 0.47)),
        point(40, 0.1, 0.6, m(0.60, 0.52, 0.68)),
    ]
    chosen = select(parse_rule("harmful_compliance<=0.2,maximise:win_rate"), points)
    # 20 and 40 both have 0.60 (and meet the constraint): the earliest wins the tie; 30's
    # interval [0.33, 0.47] is apart from 20's [0.53, 0.67], 40's is not.
    assert chosen["selected"] == 20 and chosen["not_separated_from"] == [40]
    assert "do not clearly prefer it to steps 40" in chosen["why"]
    latest = select(parse_rule("over_refusal<=0.2"), points)
    assert latest["selected"] == 20 and "latest of 3" in latest["why"]
    both = select(parse_rule("harmful_compliance>=0.12,harmful_compliance<=0.3"), points)
    assert both["selected"] == 20 and "latest of 2" in both["why"]
    none = select(parse_rule("harmful_compliance<0.05"), points)
    assert none["selected"] is None and "no evaluated checkpoint meets" in none["why"]


def test_pareto_over_safety_over_refusal_and_win_rate() -> None:
    points = [
        point(0, 0.9, 0.0, m(0.5)),  # nothing refuses less
        point(10, 0.3, 0.1, m(0.62)),  # safer than 0, a little more over-refusal
        point(20, 0.3, 0.2, m(0.55)),  # behind 10 on all three
        point(30, 0.1, 0.4, m(0.40)),  # the safest
    ]
    assert pareto_steps(points) == [0, 10, 30]
    found = select(parse_rule("pareto"), points)
    assert found["front"] == [0, 10, 30] and found["selected"] is None
    # Without a win rate at every point the front is over safety and over-refusal only.
    points[2]["measures"].pop("win_rate")
    assert pareto_steps(points) == [0, 10, 30]
    points[2]["measures"]["harmful_compliance_rate"] = m(0.2)
    assert pareto_steps(points) == [0, 10, 20, 30]
