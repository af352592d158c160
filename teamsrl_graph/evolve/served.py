"""The compiled evolution graph that `langgraph dev` serves.

langgraph.json names it by module (`teamsrl_graph.evolve.served:graph`), not by file: the server resolves
file paths against the folder it is started from, and a module resolves wherever the package is
importable. Each served run builds its `Context` from the run's JSON `context`, and with it its own
models handle and query ledger (resources.py).
"""

from .graph import build_graph

graph = build_graph()
