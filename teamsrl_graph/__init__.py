"""teamsrl-graph: instruction datasets built with reinforcement learning, and the trainers that use them.

The main entry points are imported lazily, so `import teamsrl_graph` (and the CLI's start-up) stays
light: `generate` (and `generate_on_ray`, the same over Ray workers), `build_graph`, `Context`
(settings), `Resources`, `resources` and `bind` (what the settings imply), `Budget`,
`make_chat_model`, `load_seeds`.

`resources` is both a function exported here and the submodule that defines it. Python's import
system sets a package attribute to each submodule it loads, which would hide the function as soon
as anything imported `teamsrl_graph.resources`; the package's module class below keeps the exported
function under such a name instead (`from teamsrl_graph.resources import ...` still reads the module;
`import teamsrl_graph.resources as m` gives the function, so reach the module through `sys.modules`).
"""

import sys
import types

__version__ = "0.1.0"

_EXPORTS = {
    "generate": "run",
    "generate_on_ray": "scale",
    "build_graph": "graph",
    "Context": "context",
    "Resources": "resources",
    "resources": "resources",
    "bind": "resources",
    "Budget": "budget",
    "make_chat_model": "models.factory",
    "Models": "models.factory",
    "load_seeds": "seeds",
}


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        if (isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name
                and value.__name__ == f"{__name__}.{name}"):  # a submodule named like its export
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
