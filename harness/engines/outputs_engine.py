"""Completions read from a file instead of generated: AlpacaEval's `model_outputs.json`
(a JSON list or JSON lines of `instruction` + `output`, optional `generator`).

    harness run --engine outputs --model model_outputs.json --suite alpaca-eval:eval.json ...
    harness compare --model gpt4=outputs:gpt4_outputs.json --model mine=./ckpt ...

Each chat's last user message is looked up by instruction; a prompt with no stored output
is a failed item naming the file, never a made-up answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import iter_json_records
from harness.core.records import Completion, GenerationParams, Message
from harness.core.registry import register
from harness.engines.base import EngineConfig


class OutputsEngine:
    """Serves stored outputs keyed by instruction."""

    name = "outputs"

    def __init__(self, config: EngineConfig) -> None:
        self.path = Path(config.model.removeprefix("outputs:"))
        self.config = config
        self._outputs: dict[str, str] = {}
        for line, row in iter_json_records(self.path):
            instruction, output = row.get("instruction"), row.get("output")
            if not isinstance(instruction, str):
                raise InputError(
                    self.path, "missing or not a string", line=line, field="instruction"
                )
            if not isinstance(output, str):
                raise InputError(self.path, "missing or not a string", line=line, field="output")
            self._outputs[instruction] = output
        if not self._outputs:
            raise InputError(self.path, "no outputs")

    def identity(self) -> dict[str, Any]:
        import hashlib

        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
        return {"engine": self.name, "model": str(self.path), "fingerprint": digest}

    @property
    def chunk_size(self) -> int:
        return 1024

    def generate(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[list[Completion]]:
        out = []
        for chat in chats:
            text = self._outputs.get(chat[-1].content)
            if text is None:
                out.append(
                    [
                        Completion(
                            "", 0, 0, "error", error=f"{self.path}: no output for this instruction"
                        )
                    ]
                    * params.n
                )
            else:
                out.append([Completion(text, 0, 0, "stop")] * params.n)
        return out


@register("engine", "outputs")
def outputs_engine(config: EngineConfig) -> OutputsEngine:
    """Stored outputs (AlpacaEval model_outputs.json)."""
    return OutputsEngine(config)
