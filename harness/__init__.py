"""alignment-harness: engines, runner, results store and CLI.

Importing this package is cheap; heavy libraries (torch, transformers, vLLM) load on use.
"""

__version__ = "0.1.0"
