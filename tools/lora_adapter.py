"""What the offline models' training scripts share: the LoRA setup on the shipped MiniLM
encoder, and the export of what training changed (the committed adapter tensors, which
`judges.scorers.lora_merge` merges back at load)."""

from __future__ import annotations

from typing import Any


def lora_model(model: Any, rank: int, alpha: int, targets: str) -> Any:
    """`model` wrapped by peft: LoRA on the `targets` linear weights, the classifier and
    pooler trained whole."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.1,
        target_modules=targets,
        modules_to_save=["classifier", "pooler"],
    )
    return get_peft_model(model, config)


def adapter_tensors(peft_model: Any, rank: int, alpha: int) -> dict[str, Any]:
    """The LoRA factors (`<weight>.lora_A`/`.lora_B`, keyed without the `bert.` prefix) and
    the whole-trained layers' weights, detached copies."""
    adapter: dict[str, Any] = {}
    for name, module in peft_model.get_base_model().named_modules():
        if hasattr(module, "lora_A") and "default" in module.lora_A:
            base = name.removeprefix("bert.")
            adapter[f"{base}.lora_A"] = module.lora_A["default"].weight.detach().clone()
            adapter[f"{base}.lora_B"] = module.lora_B["default"].weight.detach().clone()
            assert abs(module.scaling["default"] - alpha / rank) < 1e-9
        saved = getattr(module, "modules_to_save", None)
        if saved is not None and "default" in saved:
            for key, value in saved["default"].state_dict().items():
                adapter[f"{name}.{key}"] = value.detach().clone()
    return adapter
