"""The evolution graph: its state, settings, nodes, steps, routers and reviewer."""
