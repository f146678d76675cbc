"""Generation throughput on the same prompts, in one process.

    .venv/bin/python benchmarks/generation.py --prompts 32 --max-new-tokens 64

Compares, on the embedded model (fp32, CPU): naive per-prompt `model.generate` (baseline),
a plain left-padded batched loop in suite order at `--batch-size`, the same loop at the
largest batch the engine forms, and the harness's transformers engine (length-sorted
batches sized by a token budget of batch-size x 512 tokens, so short prompts share a batch). Prints tokens/s for each and the ratios against the baseline and
the plain loop. All three decode greedily, so the outputs must agree; the script checks it.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable

import torch

from harness.core.records import GenerationParams
from harness.engines.base import EngineConfig
from harness.engines.transformers_engine import TransformersEngine
from suites import load_suites


# Over 60 lines: each baseline is a closure over the same loaded model and encoded prompts,
# so all of them are timed on identical inputs in one process.
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    samples = [s for suite in load_suites(["quick"]) for s in suite.samples][: args.prompts]
    chats = [s.chat() for s in samples]
    engine = TransformersEngine(EngineConfig(model=args.model, batch_size=args.batch_size))
    encoded = engine.encode(chats)
    model, tok = engine._model, engine._tok
    pad = tok.pad_token_id
    params = GenerationParams(max_new_tokens=args.max_new_tokens)

    def count(rows: list[list[int]]) -> int:
        eos = engine._eos_ids()
        total = 0
        for r in rows:
            stop = next((j for j, t in enumerate(r) if t in eos), None)
            total += len(r) if stop is None else stop + 1
        return total

    def naive() -> tuple[int, list[list[int]]]:
        rows = []
        for ids in encoded:
            x = torch.tensor([ids])
            with torch.inference_mode():
                out = model.generate(
                    input_ids=x,
                    attention_mask=torch.ones_like(x),
                    do_sample=False,
                    max_new_tokens=args.max_new_tokens,
                    pad_token_id=pad,
                )
            rows.append(out[0, len(ids) :].tolist())
        return count(rows), rows

    engine_rows = max(len(b) for b in engine.batches(list(map(len, encoded)), args.max_new_tokens))

    def plain_batched(size: int = args.batch_size) -> tuple[int, list[list[int]]]:
        rows: list[list[int]] = []
        for start in range(0, len(encoded), size):
            batch = encoded[start : start + size]
            width = max(map(len, batch))
            x = torch.tensor([[pad] * (width - len(b)) + b for b in batch])
            mask = torch.tensor([[0] * (width - len(b)) + [1] * len(b) for b in batch])
            with torch.inference_mode():
                out = model.generate(
                    input_ids=x,
                    attention_mask=mask,
                    do_sample=False,
                    max_new_tokens=args.max_new_tokens,
                    pad_token_id=pad,
                )
            rows.extend(out[:, width:].tolist())
        return count(rows), rows

    def harness_engine() -> tuple[int, list[str]]:
        outs = engine.generate(chats, params)
        return sum(c[0].completion_tokens for c in outs), [c[0].text for c in outs]

    def timed(fn: Callable[[], tuple[int, list]]) -> tuple[float, int, list]:
        t = time.perf_counter()
        tokens, rows = fn()
        return time.perf_counter() - t, tokens, rows

    results = {}
    for name, fn in [
        ("naive per-prompt", naive),
        ("plain batched loop", plain_batched),
        (f"plain loop, batch {engine_rows}", lambda: plain_batched(engine_rows)),
        ("harness engine", harness_engine),
    ]:
        secs, tokens, rows = timed(fn)  # type: ignore[arg-type]
        results[name] = (secs, tokens, rows)
        print(
            f"{name:20s} {tokens:6d} tokens in {secs:7.1f} s = {tokens / secs:7.1f} tok/s",
            flush=True,
        )

    def texts(rows: list) -> list[str]:
        return [
            r if isinstance(r, str) else tok.decode(r, skip_special_tokens=True).strip()
            for r in rows
        ]

    same = texts(results["naive per-prompt"][2]) == texts(results["harness engine"][2])
    rate = {k: v[1] / v[0] for k, v in results.items()}
    print(f"harness / naive:        {rate['harness engine'] / rate['naive per-prompt']:.2f}x")
    print(f"harness / plain batched: {rate['harness engine'] / rate['plain batched loop']:.2f}x")
    print(
        f"plain loop at the engine's largest batch ({engine_rows} rows, the engine's token budget "
        f"of {args.batch_size} x 512): harness / that loop "
        f"{rate['harness engine'] / rate[f'plain loop, batch {engine_rows}']:.2f}x"
    )
    print(f"greedy outputs identical (naive vs harness): {same}")
    print(
        f"machine: {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
        f"{args.prompts} prompts, max_new_tokens {args.max_new_tokens}, batch {args.batch_size}"
    )
    if importlib.util.find_spec("vllm") is not None:
        vllm_part(engine, chats, params, texts(results["harness engine"][2]))


def vllm_part(engine: TransformersEngine, chats: list, params: GenerationParams, ref: list) -> None:
    """Raw `vllm.LLM.chat` against the harness's vllm engine on the same loaded LLM."""
    import vllm

    from harness.engines.vllm_engine import VLLMEngine

    harness = VLLMEngine(EngineConfig(model=engine.model_ref.path, dtype="float32"))
    llm = harness._load()  # one start-up serves both (about 20-50 s on CPU)
    messages = [[m.model_dump() for m in chat] for chat in chats]
    sampling = vllm.SamplingParams(temperature=0.0, max_tokens=params.max_new_tokens)
    llm.chat(messages[:2], sampling, use_tqdm=False)  # warm-up
    t = time.perf_counter()
    raw = llm.chat(messages, sampling, use_tqdm=False)
    raw_secs = time.perf_counter() - t
    raw_tokens = sum(len(o.outputs[0].token_ids) for o in raw)
    t = time.perf_counter()
    outs = harness.generate(chats, params)
    secs = time.perf_counter() - t
    tokens = sum(c[0].completion_tokens for c in outs)
    print(
        f"{'raw vllm.LLM.chat':20s} {raw_tokens:6d} tokens in {raw_secs:7.1f} s = {raw_tokens / raw_secs:7.1f} tok/s"
    )
    print(
        f"{'harness vllm engine':20s} {tokens:6d} tokens in {secs:7.1f} s = {tokens / secs:7.1f} tok/s"
    )
    print(f"harness vllm overhead over raw vLLM: {100 * (secs / raw_secs - 1):+.1f}% (goal < 5%)")
    same = [c[0].text for c in outs] == ref
    print(f"greedy outputs identical (vllm engine vs transformers engine): {same}")


if __name__ == "__main__":
    main()
