"""Which judges make a panel: several `--judge` flags, or a panel YAML file given as the
judge (`--judge panel.yaml`), validated before any request is sent.

    # panel.yaml
    aggregate: vote            # or mean
    members:
      - judge: openai:gpt-4o-2024-08-06
      - judge: openai:claude-sonnet-4
        base_url: https://proxy.example/v1   # else --judge-base-url / OPENAI_BASE_URL
        price: [3.0, 15.0]                    # dollars per million prompt/completion tokens
      - local:smollm2                         # a bare spec is a member too

Every member reads its key from OPENAI_API_KEY (or OPENAI_API_KEY_FILE): a panel file
holds no secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.core.errors import UserError
from harness.core.validation import load_yaml_model
from judges.llm.backends import Budget
from judges.llm.client import Endpoint
from judges.llm.judge import Judge, Price, build_judge
from judges.llm.template import JudgeTemplate
from judges.panel.panel import AnyJudge, Panel, panel_name

PANEL_SUFFIXES = (".yaml", ".yml")


class MemberFile(BaseModel):
    """One member in a panel file."""

    model_config = ConfigDict(extra="forbid")
    judge: str = Field(min_length=3)
    base_url: str | None = None
    price: tuple[float, float] | None = None

    @field_validator("judge")
    @classmethod
    def _spec(cls, value: str) -> str:
        if value.partition(":")[0] not in ("openai", "local") or not value.partition(":")[2]:
            raise ValueError("must look like openai:MODEL or local:MODEL")
        return value


class PanelFile(BaseModel):
    """A panel file: its members and how it decides."""

    model_config = ConfigDict(extra="forbid")
    aggregate: Literal["vote", "mean"] = "vote"
    members: list[MemberFile | str] = Field(min_length=2)

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[MemberFile | str]) -> list[MemberFile | str]:
        specs = [m if isinstance(m, str) else m.judge for m in value]
        for spec in specs:
            MemberFile._spec(spec)
        if len(set(specs)) != len(specs):
            raise ValueError(f"a member is named twice ({', '.join(specs)})")
        return value


@dataclass(frozen=True)
class Member:
    """One judge of a panel, and where it is asked."""

    judge: str
    base_url: str | None = None
    price: tuple[float, float] | None = None


@dataclass(frozen=True)
class PanelSpec:
    """A panel's members and how it decides."""

    members: tuple[Member, ...]
    aggregate: str = "vote"
    source: str | None = None
    """The panel file it came from (None: `--judge` flags)."""

    @property
    def name(self) -> str:
        """The name the built panel's results carry."""
        return panel_name([m.judge for m in self.members], self.aggregate)


def is_panel_file(spec: str) -> bool:
    """Whether a `--judge` value names a panel file rather than one judge."""
    return spec.endswith(PANEL_SUFFIXES)


def load_panel_file(path: Path) -> PanelSpec:
    """A panel file, checked: a bad one is an InputError naming the file and field."""
    if not path.is_file():
        raise UserError(f"--judge {path}: no such panel file")
    found = load_yaml_model(path, PanelFile)
    members = tuple(
        Member(m) if isinstance(m, str) else Member(m.judge, m.base_url, m.price)
        for m in found.members
    )
    return PanelSpec(members, found.aggregate, str(path))


def panel_spec(judges: Sequence[str], aggregate: str = "vote") -> PanelSpec | None:
    """The panel that `--judge` values name, or None for one judge. A panel file stands
    alone; two or more specs are a panel deciding by `aggregate`."""
    files = [j for j in judges if is_panel_file(j)]
    if files and len(judges) > 1:
        raise UserError("--judge: give one panel file, or several judges, not both")
    if files:
        return load_panel_file(Path(files[0]))
    if len(judges) < 2:
        return None
    if len(set(judges)) != len(judges):
        raise UserError(f"--judge: a panel member is named twice ({', '.join(judges)})")
    if aggregate not in ("vote", "mean"):
        raise UserError(f"--panel-aggregate must be 'vote' or 'mean', not {aggregate!r}")
    return PanelSpec(tuple(Member(j) for j in judges), aggregate)


def build_any_judge(
    judges: Sequence[str],
    template: JudgeTemplate,
    store: Any,
    endpoint: Endpoint,
    *,
    aggregate: str = "vote",
    budget: Budget | None = None,
    price: Price | None = None,
    min_verdict_mass: float | None = None,
    temperature: float | None = None,
    seed: int | None = None,
) -> AnyJudge:
    """One judge, or the panel the `--judge` values name; a panel's members share one
    budget (a cap is the run's, not each member's)."""
    spec = panel_spec(judges, aggregate)
    budget = budget or Budget()

    def one(member: Member) -> Judge:
        judge = build_judge(
            member.judge,
            template,
            store,
            Endpoint(member.base_url or endpoint.base_url, endpoint.client),
            budget=budget,
            price=Price(*member.price) if member.price else price,
            temperature=temperature,
            seed=seed,
        )
        if min_verdict_mass is not None:
            judge.min_verdict_mass = min_verdict_mass
        return judge

    if spec is None:
        return one(Member(judges[0]))
    return Panel([one(m) for m in spec.members], spec.aggregate)
