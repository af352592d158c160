"""One Ray worker of a `generate` run (the body of a threaded Ray actor).

A worker has its own Context (the run's settings, with its own `base_url` when it was given an
endpoint of its own), so its own models: its own copy of a local model, or its own client of an
OpenAI-compatible server. Its resources book every call in the run-wide ledger (`RemoteBudget`).
The driver sends it seeds one at a time (`evolve`), several at once; they run in the actor's
threads, so their LLM calls meet in the local model's batcher as they do in one process.
"""

from __future__ import annotations

from ..evolve.context import Context
from ..evolve.graph import build_graph
from ..models.factory import protect_secrets
from ..evolve.resources import bind, resources
from ..running.run import run_seed
from ..dataio.seeds import Seed
from .ledger import RemoteBudget


class SeedWorker:
    def start(self, settings: dict, keeper) -> str:
        """Build this worker's resources from `settings` (models, templates, router; the ledger is
        `keeper`) and load its models, so a bad setting or missing weights fail before the run
        writes anything. Returns the node the worker runs on."""
        import ray

        protect_secrets()  # keys and passwords are redacted from this process's logs too
        self.context = Context(**settings)
        bind(self.context, budget=RemoteBudget(keeper))
        resources(self.context).models.load()
        self.graph = build_graph()
        return ray.get_runtime_context().get_node_id()

    def evolve(self, index: int, seed: Seed, config: dict | None = None) -> dict:
        """Run one seed (its position `index` among the run's seeds) through the graph; its record."""
        return run_seed(self.graph, self.context, index, seed, config)
