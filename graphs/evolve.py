"""The evolution graph for apps that import it by file; `langgraph dev` serves the same object
through the factory in `teamsrl_graph.evolve.served` (see langgraph.json)."""

from teamsrl_graph.evolve.served import graph

__all__ = ["graph"]
