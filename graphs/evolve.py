"""The evolution graph as served by `langgraph dev` (see langgraph.json) or imported by apps."""

from teamsrl_graph.graph import build_graph

graph = build_graph()
