"""`harness canary pin|check`: pin a small set of judged pairs, then check a judge against it
(judges/canary/). Pins and checks use no results store: every reply is fresh.

    harness canary pin --judge openai:gpt-4o --pairs hh-rlhf:PATH --out canary.json
    harness canary check canary.json --judge openai:gpt-4o --fail-on-drift
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.core.atomic import write_text_atomic
from harness.core.errors import InputError, UserError
from harness.core.progress import Progress, SilentProgress
from harness.stats.drift import ALPHA
from judges.llm.client import Endpoint, JudgeClient

DEFAULT_PAIRS = 50


@dataclass(frozen=True)
class CanaryPinConfig:
    """What `harness canary pin` needs."""

    judge: str
    pairs: str
    """hh-rlhf:PATH, AlpacaEval human annotations, labelled pairs JSONL, or `harness judge
    pairwise` input (id, prompt, response_a, response_b)."""
    out: Path
    n: int = DEFAULT_PAIRS
    template: str = "pairwise-v1"
    judge_base_url: str | None = None
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    seed: int = 0
    """Seeds which slot HH-RLHF's chosen answer is shown in."""
    min_verdict_mass: float = 0.5
    """Log-probability templates: least P(A) + P(B) a verdict may rest on (kept in the
    canary, and used again by every check)."""


@dataclass(frozen=True)
class CanaryCheckConfig:
    """What `harness canary check` (and `--canary` on judge and compare) needs."""

    canary: Path
    judge: str
    judge_base_url: str | None = None
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    sample: int | None = None
    """Check a seeded sample of this many pinned pairs (all of them when None)."""
    seed: int = 0
    alpha: float = ALPHA
    out: Path | None = None


def _items(source: str, n: int, seed: int) -> list[Any]:
    """The first `n` pairs of the source, as judge items."""
    from judges.audit.pairs import load_pairs
    from judges.llm.files import read_pairs
    from judges.llm.verdicts import PairItem

    if source.startswith("hh-rlhf:"):
        labelled = load_pairs(source, n, seed)
        return [PairItem(p.id, p.prompt, p.response_a, p.response_b) for p in labelled]
    path = Path(source)
    if not path.is_file():
        raise UserError(f"--pairs {source}: no such file (or hh-rlhf:PATH)")
    with path.open(encoding="utf-8") as f:
        head = f.read(4096)
    if '"human"' in head or '"output_1"' in head:
        labelled = load_pairs(source, n, seed)
        return [PairItem(p.id, p.prompt, p.response_a, p.response_b) for p in labelled]
    return read_pairs(path)[:n]


def _judge(spec: str, template: str, base_url: str | None, client: JudgeClient) -> Any:
    from judges.llm.judge import build_judge
    from judges.llm.template import load_template

    found = load_template(template)
    if found.config.kind != "pairwise":
        raise UserError(f"--template {template}: a canary needs a pairwise template")
    return build_judge(spec, found, None, Endpoint(base_url, client))


def pin_canary(config: CanaryPinConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Judge the pairs twice (both orders each time) and write the canary file."""
    from judges.canary.canary import pin

    progress = progress or SilentProgress()
    if config.n < 10:
        raise UserError(f"--n {config.n}: a canary under 10 pairs can never tell drift")
    items = _items(config.pairs, config.n, config.seed)
    if len(items) < 10:
        raise UserError(f"--pairs {config.pairs}: {len(items)} pairs; a canary needs at least 10")
    if config.out.is_dir():
        raise UserError(f"--out {config.out}: is a directory; give a file name (canary.json)")
    judge = _judge(config.judge, config.template, config.judge_base_url, config.judge_client)
    judge.min_verdict_mass = config.min_verdict_mass
    progress.start("pin canary", 4 * len(items))
    record = pin(judge, items, on_done=progress.advance)
    record["source"] = config.pairs
    write_text_atomic(config.out, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def load_canary(path: Path) -> dict[str, Any]:
    """A canary file, checked: a bad one is an InputError naming it."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such canary file (make one with harness canary pin)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(path, f"not a canary file ({e})") from None
    if not isinstance(found, dict):
        raise InputError(path, "not a canary file (expected a JSON object)")
    for key in ("version", "pairs", "template", "template_id", "pinned_at", "judge"):
        if key not in found:
            raise InputError(path, "missing (not a canary file from harness canary pin)", field=key)
    if found["version"] != 1:
        raise InputError(path, f"canary format {found['version']} is not known", field="version")
    for k, p in enumerate(found["pairs"]):
        for key in ("id", "prompt", "response_a", "response_b", "verdict", "repeat_verdict"):
            if key not in p:
                raise InputError(path, "missing", field=f"pairs[{k}].{key}")
    return found


def check_canary(config: CanaryCheckConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Judge the canary's pairs again and test for drift; writes `config.out` when given."""
    from judges.canary.canary import check, sample_pairs

    progress = progress or SilentProgress()
    canary = load_canary(config.canary)
    if config.out is not None and config.out.is_dir():
        raise UserError(f"--out {config.out}: is a directory; give a file name")
    judge = _judge(config.judge, canary["template"], config.judge_base_url, config.judge_client)
    judge.min_verdict_mass = float(canary["judge"].get("min_verdict_mass", 0.5))
    if judge.template.id != canary["template_id"]:
        raise UserError(
            f"template {judge.template.name} changed since the canary was pinned "
            f"({judge.template.id}, pinned {canary['template_id']}): a check would measure "
            "the template's change, not the judge's; pin a new canary"
        )
    progress.start("check canary", 2 * len(sample_pairs(canary, config.sample, config.seed)))
    result = check(canary, judge, config.sample, config.seed, config.alpha, progress.advance)
    result["canary"] = str(config.canary)
    if config.out is not None:
        write_text_atomic(config.out, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


class WithCanary(Protocol):
    """A job config that takes `--canary` (JudgeConfig, CompareConfig)."""

    @property
    def canary(self) -> Path | None: ...
    @property
    def judge(self) -> str: ...
    @property
    def judge_base_url(self) -> str | None: ...
    @property
    def judge_client(self) -> JudgeClient: ...
    @property
    def canary_sample(self) -> int | None: ...
    @property
    def canary_seed(self) -> int: ...


def canary_member(config: WithCanary, panel: Any) -> tuple[str, str | None]:
    """The judge `--canary` checks, and where it is asked: the job's judge, or the member of
    its panel (a `judges.panel.spec.PanelSpec`, else None) the canary was pinned for; a
    canary pinned for none of the members is refused before any work."""
    if config.canary is None or panel is None:
        return config.judge, config.judge_base_url
    pinned = str(load_canary(config.canary)["judge"].get("spec"))
    for member in panel.members:
        if member.judge == pinned:
            return member.judge, member.base_url or config.judge_base_url
    names = ", ".join(m.judge for m in panel.members)
    raise UserError(
        f"--canary {config.canary}: pinned for {pinned}, which is not a member of the panel "
        f"({names}); a canary checks one judge: pin one for a member"
    )


def check_alongside(
    config: WithCanary, progress: Progress | None = None, panel: Any = None
) -> dict[str, Any] | None:
    """`--canary` on judge and compare: the canary's pairs judged by the job's judge (or the
    panel member it was pinned for), fresh, beside the work; the check's record (None
    without `--canary`)."""
    if config.canary is None:
        return None
    judge, base_url = canary_member(config, panel)
    return check_canary(
        CanaryCheckConfig(
            canary=config.canary,
            judge=judge,
            judge_base_url=base_url,
            judge_client=config.judge_client,
            sample=config.canary_sample,
            seed=config.canary_seed,
        ),
        progress,
    )
