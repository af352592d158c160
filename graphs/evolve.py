"""The evolution graph for apps that import it by file; `langgraph dev` serves the same object
from `teamsrl_graph.served` (see langgraph.json)."""

from teamsrl_graph.served import graph

__all__ = ["graph"]
