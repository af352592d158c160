"""The learned router: a small PyTorch actor-critic, trained with TRPO on a reward no single operation can game.

`features` turns a router `Observation` into a vector (a MiniLM embedding of the instruction plus
its evolution history and drift from its seed), `model` is the network and its file format,
`joint` the choice of its two heads (an action; a constraint family with add_constraints), `trpo`
the update rule, `reward` the reward of one step from its terms, `novelty` the distance to what a
run kept, `env` the batched evolve -> review environment, `train` the trainer (with validation and
early stopping) and `router` the graph's `Router`. Importing this package loads nothing heavy;
torch comes with the submodules.
"""
