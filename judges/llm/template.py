"""Judge prompt templates: a folder with `config.yaml` and `prompt.txt`, shipped or user-given.

`prompt.txt` holds `### system` and `### user` sections with `{prompt}`, `{response}`,
`{response_a}`, `{response_b}`, `{reference}`, `{reference_block}`, `{principle}` (a
constitution principle, for Constitutional AI feedback), `{persona}` (a user profile, for
personalised judging) and `{steps}`/`{step}` (a solution's earlier steps and the step to
label, for process supervision) placeholders. The
substitution is a single pass over the template, so braces or placeholders inside model
text are never expanded. The template's version is the hash of its two files, stored with
every judgment.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.errors import InputError, UserError
from harness.core.io import parse_yaml, read_text
from harness.core.records import Message
from harness.core.validation import input_error

JudgeKind = Literal["pairwise", "pointwise", "classify"]
_PLACEHOLDER = re.compile(
    r"\{(prompt|response|response_a|response_b|reference|reference_block|principle|persona|steps|step)\}"
)
_SECTION = re.compile(r"^### (system|user)\s*$", re.MULTILINE)
NEEDS: dict[str, tuple[frozenset[str], ...]] = {
    "pairwise": (frozenset({"response_a", "response_b"}),),
    "pointwise": (frozenset({"response"}),),
    "classify": (frozenset({"response"}), frozenset({"step"})),
}
"""Placeholders a template of each kind must use (any one set): without them the judge
would choose without seeing what it judges."""


class TemplateConfig(BaseModel):
    """`config.yaml` of a judge template."""

    model_config = ConfigDict(extra="forbid")

    kind: JudgeKind
    """What the judge does: compare two answers, grade one, or classify one."""
    version: int = 1
    """Human version number; the content hash is stored too."""
    description: str = ""
    """What the template is and where it comes from."""
    max_tokens: int = Field(default=512, ge=1)
    """Judge reply budget."""
    temperature: float = Field(default=0.0, ge=0.0)
    """Judge sampling temperature."""
    logprobs: bool = False
    """Ask for log-probabilities and weight the verdict with them when the endpoint gives them."""
    verdict_tokens: dict[str, str] = Field(default_factory=dict)
    """For logprob templates: verdict -> the single token that expresses it."""
    labels: list[str] = Field(default_factory=list)
    """Classification labels (classify templates)."""
    scale: tuple[int, int] = (1, 10)
    """Score range (pointwise templates)."""
    needs_reference: bool = False
    """Whether every item must carry a reference answer."""


class JudgeTemplate:
    """A loaded template: renders chat messages for one judgment."""

    def __init__(
        self, name: str, config: TemplateConfig, system: str, user: str, digest: str
    ) -> None:
        self.name = name
        self.config = config
        self.system = system
        self.user = user
        self.digest = digest

    @property
    def id(self) -> str:
        """`name@v<version>:<hash>`, stored with each judgment."""
        return f"{self.name}@v{self.config.version}:{self.digest[:12]}"

    def render(self, **values: str | None) -> list[Message]:
        """The judge's chat for these values (None values render as empty)."""

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or "", text)

        reference = values.get("reference")
        if "reference_block" not in values:
            values = {
                **values,
                "reference_block": (
                    f"\n[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n"
                    if reference
                    else ""
                ),
            }
        messages = [Message(role="user", content=fill(self.user))]
        if self.system:
            messages.insert(0, Message(role="system", content=fill(self.system)))
        return messages


def builtin_templates() -> list[str]:
    """Names of the templates shipped with the project."""
    root = resources.files("judges") / "templates"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "config.yaml").is_file())


def load_template(name_or_path: str) -> JudgeTemplate:
    """Load a shipped template by name, or a template folder from a path."""
    path = Path(name_or_path)
    if not path.is_dir():
        if name_or_path not in builtin_templates():
            known = ", ".join(builtin_templates())
            raise UserError(
                f"unknown judge template '{name_or_path}' (shipped: {known}; or a folder path)"
            )
        path = Path(str(resources.files("judges") / "templates" / name_or_path))
    config_path, prompt_path = path / "config.yaml", path / "prompt.txt"
    for p in (config_path, prompt_path):
        if not p.is_file():
            raise InputError(p, "missing: a judge template folder needs config.yaml and prompt.txt")
    config_text, prompt_text = read_text(config_path), read_text(prompt_path)
    raw: Any = parse_yaml(config_path, config_text) or {}
    try:
        config = TemplateConfig.model_validate(raw)
    except ValidationError as e:
        raise input_error(config_path, e) from None
    parts = _SECTION.split(prompt_text)
    sections = dict(zip(parts[1::2], (p.strip() for p in parts[2::2]), strict=True))
    if "user" not in sections:
        raise InputError(prompt_path, "needs a '### user' section")
    used = set(_PLACEHOLDER.findall(prompt_text))
    if not any(need <= used for need in NEEDS[config.kind]):
        wanted = " or ".join(
            " and ".join(f"{{{p}}}" for p in sorted(n)) for n in NEEDS[config.kind]
        )
        raise InputError(
            prompt_path, f"a {config.kind} template must show the judge {wanted}; it has none"
        )
    digest = hashlib.sha256((config_text + "\0" + prompt_text).encode()).hexdigest()
    return JudgeTemplate(path.name, config, sections.get("system", ""), sections["user"], digest)
