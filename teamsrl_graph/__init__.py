"""teamsrl-graph: instruction datasets built with reinforcement learning, and the trainers that use them.

The main entry points are imported lazily, so `import teamsrl_graph` (and the CLI's start-up) stays
light: `generate` (and `generate_on_ray`, the same over Ray workers), `build_graph`, `Context`
(settings), `Resources`, `resources` and `bind` (what the settings imply), `Budget`,
`make_chat_model` and `Models` (the chat models of a run), `load_seeds`.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "generate": "running.run",
    "generate_on_ray": "scale",
    "build_graph": "evolve.graph",
    "Context": "evolve.context",
    "Resources": "evolve.resources",
    "resources": "evolve.resources",
    "bind": "evolve.resources",
    "Budget": "running.budget",
    "make_chat_model": "models.factory",
    "Models": "models.factory",
    "load_seeds": "dataio.seeds",
}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
