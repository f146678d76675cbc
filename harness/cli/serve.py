"""`harness serve`: a local model as an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from harness.cli.app import app, err, user_errors


@app.command()
@user_errors
def serve(
    model: Annotated[str, typer.Option(help="'smollm2', a model directory or a hub id.")],
    port: Annotated[int, typer.Option(help="TCP port.")] = 8011,
    host: Annotated[
        str, typer.Option(help="Bind address (loopback unless you mean otherwise).")
    ] = "127.0.0.1",
    served_model_name: Annotated[
        str | None, typer.Option(help="Name clients send as 'model' (default: --model).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Largest batch of concurrent requests.")] = 16,
    max_pending: Annotated[int, typer.Option(help="Requests in flight before 429.")] = 64,
    default_max_tokens: Annotated[
        int, typer.Option(min=1, help="Tokens a request that gives no max_tokens may decode.")
    ] = 256,
    device: Annotated[str, typer.Option(help="Torch device.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Weights dtype.")] = "float32",
) -> None:
    """Serve a local model as an OpenAI-compatible endpoint (/v1/chat/completions, /v1/models)."""
    import uvicorn

    from harness.engines.base import EngineConfig
    from harness.engines.transformers_engine import TransformersEngine
    from harness.jobs.serve import build_app

    if host not in {"127.0.0.1", "localhost", "::1"}:
        err.print(
            f"warning: binding to {host}: anyone who can reach it can use the model", style="yellow"
        )
    engine = TransformersEngine(
        EngineConfig(model=model, batch_size=batch_size, device=device, dtype=dtype)
    )
    from harness.core.records import Message

    engine.encode([[Message(role="user", content="warm-up")]])  # load before accepting requests
    app_ = build_app(
        engine,
        served_model_name or model,
        max_batch=batch_size,
        max_pending=max_pending,
        default_max_tokens=default_max_tokens,
    )
    # A stopping server gives open connections 3 s to finish (the batcher has already
    # ended their generation) before it closes them.
    server = uvicorn.Server(
        uvicorn.Config(app_, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
    )
    startup = server.startup
    handle_exit = server.handle_exit

    def stop(sig: int, frame: Any) -> None:
        """SIGTERM/SIGINT: stop generating at the next decode step, then shut down."""
        app_.state.batcher.stop()
        handle_exit(sig, frame)

    async def announce(sockets: Any = None) -> None:
        """Say where it listens once the socket is bound (scripts wait for this line)."""
        await startup(sockets=sockets)
        if server.started:
            name = served_model_name or model
            print(f"serving {name} at http://{host}:{port}/v1 (Ctrl-C stops)", flush=True)

    server.startup = announce  # type: ignore[method-assign]
    server.handle_exit = stop  # type: ignore[method-assign]
    server.run()
