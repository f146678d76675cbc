"""Data-parallel generation on Ray: N replicas of a local engine (transformers or vLLM), each
a Ray actor holding its own model, one per GPU (or per CPU share on a CPU-only cluster).

    harness run --model M --suite S --replicas 4 [--ray-address auto] --out runs/x

The runner hands over chunks of `replicas x batch` prompts; each chunk is dealt out to the
replicas strided (the runner sorts prompts by length, so every replica gets a similar mix)
and the completions come back in input order and go into the results store chunk by
chunk, so a killed sharded run resumes where it stopped, like any other. The engine's
identity is the replicated engine's, so sharded and single-process runs share cache keys:
greedy outputs are the same either way. Tensor parallelism for a model that does not fit
one GPU is vLLM's own option (`tensor_parallel_size`), passed through to each replica.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from harness.core.errors import MissingDependencyError, UserError
from harness.core.records import Completion, GenerationParams, Message
from harness.engines.base import Engine, EngineConfig, PromptTooLongError
from harness.engines.factory import create_engine
from harness.engines.models import resolve_model

SHARDABLE = ("transformers", "vllm")
"""Engines that hold a model in-process; an endpoint engine already fans out requests."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "ray", "--replicas", "pip install 'alignment-harness[ray]'"
        ) from None
    return ray


class _Replica:
    """One engine replica (the body of a Ray actor)."""

    def __init__(self, engine: str, config: dict[str, Any]) -> None:
        self.engine = create_engine(engine, EngineConfig(**config))

    def generate(
        self, chats: list[list[Message]], params: GenerationParams
    ) -> list[list[Completion]]:
        return self.engine.generate(chats, params)


def _user_error(cause: Any, shard: list[int]) -> BaseException:
    """A replica's error as the driver would have raised it (a too-long prompt's index
    counted in the whole chunk); anything but a user error stays Ray's."""
    if isinstance(cause, PromptTooLongError):
        found = copy.copy(cause)
        found.index = shard[cause.index]
        return found
    if isinstance(cause, UserError):
        return cause
    return RuntimeError(f"a generation replica failed: {type(cause).__name__}: {cause}")


class RayShardedEngine:
    """`replicas` copies of engine `inner` as Ray actors; generation split across them."""

    def __init__(
        self, inner: str, config: EngineConfig, replicas: int, address: str | None = None
    ) -> None:
        if inner not in SHARDABLE:
            raise UserError(
                f"--replicas shards local engines ({', '.join(SHARDABLE)}); the {inner} engine "
                "already sends requests concurrently (raise --concurrency instead)"
            )
        if replicas < 1:
            raise UserError("--replicas must be at least 1")
        self.name = inner
        self.replicas = replicas
        self.address = address
        self.config = config
        self._local: Engine = create_engine(inner, config)  # identity only; loads nothing
        self._actors: list[Any] | None = None

    def identity(self) -> dict[str, Any]:
        return self._local.identity()

    @property
    def chunk_size(self) -> int:
        return self._local.chunk_size * self.replicas

    def _start(self) -> list[Any]:
        if self._actors is not None:
            return self._actors
        ray = _ray()
        if not ray.is_initialized():
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        # A replica needs as many GPUs as vLLM's tensor parallelism spreads the model over.
        tensor_parallel = int(self.config.options.get("tensor_parallel_size", 1))
        gpus = tensor_parallel if self.config.device.startswith("cuda") else 0
        cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1)) / self.replicas)
        cpus = cpus if gpus == 0 else 1.0
        # Replicas load the resolved directory: no worker needs this machine's model cache.
        path = resolve_model(self.config.model).path
        config = asdict(replace(self.config, model=path))
        actor = ray.remote(num_cpus=cpus, num_gpus=gpus)(_Replica)
        self._actors = [actor.remote(self.name, config) for _ in range(self.replicas)]
        return self._actors

    def generate(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[list[Completion]]:
        ray = _ray()
        actors = self._start()
        shards = [
            (actor, list(range(i, len(chats), len(actors))))
            for i, actor in enumerate(actors)
            if i < len(chats)
        ]
        futures = [
            actor.generate.remote([list(chats[j]) for j in idx], params) for actor, idx in shards
        ]
        results: list[list[Completion] | None] = [None] * len(chats)
        for (_, idx), future in zip(shards, futures, strict=True):
            try:
                outs = ray.get(future)
            except ray.exceptions.RayTaskError as e:
                raise _user_error(e.cause, idx) from None
            for j, out in zip(idx, outs, strict=True):
                results[j] = out
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop the replicas (the Ray cluster, if this process started it, stays up)."""
        if self._actors is not None:
            ray = _ray()
            for actor in self._actors:
                ray.kill(actor)
            self._actors = None
