"""The learned router: a small PyTorch actor-critic, trained with TRPO on the reviewer's reward.

`features` turns a router `Observation` into a vector (a MiniLM embedding of the instruction plus
its evolution history), `model` is the network and its file format, `trpo` the update rule,
`env` the batched evolve -> review environment, `train` the trainer and `router` the graph's
`Router`. Importing this package loads nothing heavy; torch comes with the submodules.
"""
