"""The Python API: the jobs the CLI runs, callable from a notebook with the same typed configs.

    from harness import RunConfig, evaluate
    result = evaluate(RunConfig(model="smollm2", suites=("quick",), out=Path("runs/demo")))
    result.to_pandas()            # one row per item, a column per score
    result.metrics_frame()        # one row per metric, with its 95% CI and n

`compare` and `audit_judge` return the same numbers their commands write (winrates.json,
audit.json), with a table of them as `to_pandas()`; `train` trains a checkpoint as `harness train` does (a
`trainers.config` config: DPOTrainConfig, GRPOTrainConfig, ...); `judge` judges a JSONL file
as `harness judge` does (one judge, or a panel: `JudgeConfig(judge=A, panel=(B, C))`); `canary_pin` and
`canary_check` the canary's record and the check's verdict; `bias_amplification` runs the
RLAIF experiment of `harness bias-amplification` and returns amplification.json's content;
`train_persona_adapters` trains one LoRA adapter per persona (`harness train dpo --lora
--personas FILE --judgments SOURCE`) and returns adapters.json's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.progress import Progress
from harness.core.records import RunResult
from harness.jobs.audit import AuditConfig, run_audit_judges
from harness.jobs.bias_amplification import AmplificationConfig, run_bias_amplification
from harness.jobs.canary import CanaryCheckConfig, CanaryPinConfig, check_canary, pin_canary
from harness.jobs.compare import CompareConfig, run_compare
from harness.jobs.judge import JudgeConfig, JudgeOutcome, run_judge
from harness.jobs.run import RunConfig, run

if TYPE_CHECKING:
    import pandas as pd

    from trainers.config import DPOTrainConfig, TrainConfig
    from trainers.method import TrainResult


def evaluate(config: RunConfig, progress: Progress | None = None) -> RunResult:
    """`harness run`: generate on the suites, score, write the run's files; the result holds
    every item and metric (see `RunResult.to_pandas` and `RunResult.metrics_frame`)."""
    return run(config, progress)


@dataclass(frozen=True)
class CompareResult:
    """What `harness compare` wrote to winrates.json: per-model win rates against the baseline
    (with standard errors, LC win rate and n), Bradley-Terry ratings, paired tests, manifest."""

    winrates: dict[str, Any]
    out: Path

    def to_pandas(self) -> pd.DataFrame:
        """One row per model: win rate, standard error, LC win rate, n, average length."""
        import pandas as pd

        return pd.DataFrame(self.winrates["models"])


def compare(config: CompareConfig, progress: Progress | None = None) -> CompareResult:
    """`harness compare`: generate with every model, judge pairs in both orders, report."""
    return CompareResult(run_compare(config, progress), config.out)


@dataclass(frozen=True)
class AuditResult:
    """What `harness audit-judge` wrote to audit.json: per judge, every measure with its CI."""

    audit: dict[str, Any]
    out: Path

    def to_pandas(self) -> pd.DataFrame:
        """One row per (judge, measure): value, 95% CI, n and what the measure means."""
        import pandas as pd

        rows = [
            {"judge": result["judge"]["spec"], "measure": name, **measure}
            for result in self.audit["judges"]
            for name, measure in result["measures"].items()
        ]
        return pd.DataFrame(rows)


def audit_judge(config: AuditConfig, progress: Progress | None = None) -> AuditResult:
    """`harness audit-judge`: audit judges on human-labelled pairs."""
    return AuditResult(run_audit_judges(config, progress), config.out)


def train(config: TrainConfig, progress: Progress | None = None) -> TrainResult:
    """`harness train METHOD`: train `config` (a `trainers.config.TrainConfig`) into
    `config.out` with its manifest; with `config.evaluation`, checkpoints are evaluated while
    training runs. Returns the `trainers.method.TrainResult`."""
    if config.evaluation is not None:
        from harness.jobs.train_curves import train_with_curves

        return train_with_curves(config, log=lambda _: None, progress=progress)
    from trainers.run import train as run_training

    return run_training(config)


def judge(config: JudgeConfig, progress: Progress | None = None) -> JudgeOutcome:
    """`harness judge`: judge every item of a JSONL file (pairwise in both orders, grades or
    labels) by one judge or a panel; the summary, and where the three files were written."""
    return run_judge(config, progress)


def canary_pin(config: CanaryPinConfig, progress: Progress | None = None) -> dict[str, Any]:
    """`harness canary pin`: judge the pairs twice in both orders; the canary record (also
    written to `config.out`)."""
    return pin_canary(config, progress)


def canary_check(config: CanaryCheckConfig, progress: Progress | None = None) -> dict[str, Any]:
    """`harness canary check`: judge the canary's pairs again; `status` is `unchanged`,
    `drift` or `inconclusive`, `verdict` says it in words."""
    return check_canary(config, progress)


def bias_amplification(
    config: AmplificationConfig, progress: Progress | None = None
) -> dict[str, Any]:
    """`harness bias-amplification`: label pairs with humans and with the judge, train DPO on
    each, and measure how far each policy moved along the judge's bias (amplification.json)."""
    return run_bias_amplification(config, progress)


def train_persona_adapters(
    config: DPOTrainConfig, personas: str, judgments: str, progress: Progress | None = None
) -> dict[str, Any]:
    """`harness train dpo --lora --personas FILE --judgments SOURCE`: one unmerged LoRA
    adapter per persona, trained on its own preferences; evaluate them with
    `CompareConfig(adapters=("NAME=DIR", ...), personas=FILE)`."""
    from harness.jobs.persona_adapters import train_persona_adapters as train_adapters

    return train_adapters(config, personas, judgments)
