"""A panel of judges deciding together: every member judges every item (pairwise: in both
orders), the members concurrently, each through its own cache entries and retries; the
panel's verdicts are aggregated from theirs (judges/panel/aggregate.py).

A `Panel` stands where a `Judge` stands in audits, comparisons and judge-backed scorers:
`pairwise`, `pointwise` and `classify` here take either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from harness.core.errors import UserError
from judges.llm.classify import ClassResult, judge_classify
from judges.llm.judge import Judge, JudgeStats
from judges.llm.pairwise import judge_pairwise
from judges.llm.pointwise import PointItem, PointResult, judge_pointwise
from judges.llm.position_swap import Inconsistent
from judges.llm.template import JudgeTemplate
from judges.llm.verdicts import PairItem, PairResult
from judges.panel.aggregate import (
    Aggregate,
    check_aggregate,
    panel_grades,
    panel_labels,
    panel_pairs,
)
from judges.panel.agreement import panel_statistics

T = TypeVar("T")
OnDone = Callable[[int], None] | None


def panel_name(names: Sequence[str], aggregate: str) -> str:
    """How results name a panel: `panel(A, B; vote)`."""
    return f"panel({', '.join(names)}; {aggregate})"


class Panel:
    """Several judges on one template deciding by `aggregate` (`vote` or `mean`)."""

    def __init__(self, members: Sequence[Judge], aggregate: str = "vote") -> None:
        if len(members) < 2:
            raise UserError("a judge panel needs at least two members")
        names = [m.spec for m in members]
        if len(set(names)) != len(names):
            raise UserError(f"a panel member is named twice ({', '.join(names)})")
        try:
            self.aggregate: Aggregate = check_aggregate(aggregate)
        except ValueError as e:
            raise UserError(f"--panel-aggregate: {e}") from None
        self.members = tuple(members)
        self.extra = JudgeStats()
        """Spending charged to the panel beyond its members' own (an audit's repeats)."""

    @property
    def names(self) -> list[str]:
        return [m.spec for m in self.members]

    @property
    def spec(self) -> str:
        """How results name the panel: its members and how it decides."""
        return panel_name(self.names, self.aggregate)

    @property
    def template(self) -> JudgeTemplate:
        return self.members[0].template

    @property
    def store(self) -> Any:
        return self.members[0].store

    @property
    def min_verdict_mass(self) -> float:
        return self.members[0].min_verdict_mass

    @min_verdict_mass.setter
    def min_verdict_mass(self, value: float) -> None:
        for m in self.members:
            m.min_verdict_mass = value

    @property
    def stats(self) -> JudgeStats:
        """The members' spending summed (who answered stays per member in `member_usage`)."""
        total = JudgeStats()
        for m in self.members:
            total.add(m.stats)
        total.add(self.extra)
        return total

    def charge(self, other: JudgeStats) -> None:
        """Count spending made on the panel's behalf (a repeat panel's) as the panel's."""
        self.extra.add(other)

    def describe(self) -> dict[str, Any]:
        """The panel as stored with results: how it decides and each member's own spec."""
        return {
            "spec": self.spec,
            "template": self.template.id,
            "aggregate": self.aggregate,
            "members": [m.describe() for m in self.members],
            "min_verdict_mass": self.min_verdict_mass,
        }

    def decides(self, result: Any) -> str:
        """How the panel decided results like `result`, in words."""
        if isinstance(result, ClassResult):
            return "majority label"
        if isinstance(result, PointResult):
            return "median grade" if self.aggregate == "vote" else "mean grade"
        return (
            "majority vote per order" if self.aggregate == "vote" else "mean preference per order"
        )

    def settings(self) -> dict[str, Any]:
        return self.members[0].settings()

    def spent(self) -> dict[str, Any]:
        """The members' spending summed; who answered is each member's (`member_usage`): a
        panel answers as several models by design."""
        total = {k: v for k, v in self.stats.as_dict().items() if k != "served"}
        return {**total, "client": self.settings()}

    def usage(self) -> dict[str, Any]:
        """The summed spending, with each member's own usage (and who answered it)."""
        return {
            "judge": self.spec,
            "template": self.template.id,
            **self.spent(),
            "members": list(self.member_usage().values()),
        }

    def member_usage(self) -> dict[str, dict[str, Any]]:
        return {m.spec: m.usage() for m in self.members}

    def with_template(self, template: JudgeTemplate) -> Panel:
        """The same members asked with another template."""
        return Panel([m.with_template(template) for m in self.members], self.aggregate)

    def summary(self, results: Sequence[Any]) -> dict[str, Any]:
        """What every report says of a panel: its name, members and aggregate, the split
        rate and every two members' kappa over the panel's results."""
        return {
            "spec": self.spec,
            "members": self.names,
            "aggregate": self.aggregate,
            **panel_statistics(self.names, results),
        }

    def _each(self, work: Callable[[Judge, OnDone], T], on_done: OnDone) -> list[T]:
        """`work` for every member at once, one thread each (a member's own backend fans
        out its requests); progress counted under a lock."""
        lock = threading.Lock()

        def advance(k: int) -> None:
            if on_done is not None:
                with lock:
                    on_done(k)

        with ThreadPoolExecutor(len(self.members), thread_name_prefix="panel") as pool:
            futures = [pool.submit(work, m, advance) for m in self.members]
            return [f.result() for f in futures]

    def judge_pairwise(
        self,
        items: Sequence[PairItem],
        *,
        swap: bool = True,
        inconsistent: Inconsistent = "tie",
        seed: int = 0,
        on_done: OnDone = None,
    ) -> list[PairResult]:
        found = self._each(
            lambda m, done: judge_pairwise(
                m, items, swap=swap, inconsistent=inconsistent, seed=seed, on_done=done
            ),
            on_done,
        )
        return panel_pairs(found, self.aggregate, inconsistent)

    def judge_pointwise(
        self, items: Sequence[PointItem], on_done: OnDone = None
    ) -> list[PointResult]:
        found = self._each(lambda m, done: judge_pointwise(m, items, done), on_done)
        return panel_grades(found, self.aggregate)

    def judge_classify(
        self, items: Sequence[PointItem], on_done: OnDone = None
    ) -> list[ClassResult]:
        if self.aggregate != "vote":
            raise UserError(
                "a panel labels by majority: --panel-aggregate mean needs grades or pairs"
            )
        found = self._each(lambda m, done: judge_classify(m, items, done), on_done)
        return panel_labels(found)


AnyJudge = Judge | Panel
"""A judge, or a panel standing where one judge would."""


def judges_asked(judge: AnyJudge) -> int:
    """How many judges answer each request: a panel's members, else one."""
    return len(judge.members) if isinstance(judge, Panel) else 1


def pairwise(
    judge: AnyJudge,
    items: Sequence[PairItem],
    *,
    swap: bool = True,
    inconsistent: Inconsistent = "tie",
    seed: int = 0,
    on_done: OnDone = None,
) -> list[PairResult]:
    """Pairwise results from a judge or a panel (judges/llm/pairwise.py)."""
    if isinstance(judge, Panel):
        return judge.judge_pairwise(
            items, swap=swap, inconsistent=inconsistent, seed=seed, on_done=on_done
        )
    return judge_pairwise(
        judge, items, swap=swap, inconsistent=inconsistent, seed=seed, on_done=on_done
    )


def pointwise(
    judge: AnyJudge, items: Sequence[PointItem], on_done: OnDone = None
) -> list[PointResult]:
    """Grades from a judge or a panel."""
    if isinstance(judge, Panel):
        return judge.judge_pointwise(items, on_done)
    return judge_pointwise(judge, items, on_done)


def classify(
    judge: AnyJudge, items: Sequence[PointItem], on_done: OnDone = None
) -> list[ClassResult]:
    """Labels from a judge or a panel."""
    if isinstance(judge, Panel):
        return judge.judge_classify(items, on_done)
    return judge_classify(judge, items, on_done)
