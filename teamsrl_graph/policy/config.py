"""`PolicyTrainingConfig`: the settings of one policy-training run (`teamsrl train-policy`), each
with its description; the CLI's options are made from these fields. Importing it loads no torch."""

from __future__ import annotations

from dataclasses import dataclass

from ..commands.pipeline import ANSWERING
from ..common.checks import non_negative, positive, unit, whole
from ..common.errors import InputError
from ..evolve.context import count_weights, setting

RESUMABLE = ("updates", "budget", "patience")  # settings a resumed run may change


@dataclass
class PolicyTrainingConfig:
    out: str = setting(None, "output folder: log.jsonl, reward.png, actions.png, validation.png, checkpoint/, policy.safetensors + .json")
    seeds: str | None = setting(None, "seed instructions to train on; empty = the shipped seeds but every fifth (those validate)")
    validation: str | None = setting(None, "held-out seed instructions for the validation reward; empty = every fifth shipped seed")
    updates: int = setting(8, "policy updates; each one collects `envs` episodes")
    envs: int = setting(16, "episodes evolved side by side (their LLM calls are batched)")
    max_steps: int = setting(3, "evolution depth limit of an episode")
    seed: int = setting(0, "seeds the network, the seed order and action sampling")
    budget: int = setting(1500, "hard cap on the training's own LLM queries (validation included)")
    query_cost: float = setting(0.1, "reward subtracted per LLM query (an evolution step uses 2; a finished episode's answer, "
                                     "every answer sampled)")
    verify_weight: float = setting(0.9, "reward of an episode that kept an evolution and whose final instruction, answered "
                                        "once as the main job answers it, got an answer meeting every constraint; "
                                        "0 = episodes are not answered; default from benchmarks/reward_terms.py")
    novelty_weight: float = setting(0.0, "reward per unit of novelty: 1 - MiniLM cosine to the nearest instruction the run kept; "
                                         "default from benchmarks/reward_terms.py")
    # how a finished episode is answered: as `teamsrl pipeline` answers every record (its defaults)
    constraints_per_instruction: int = setting(ANSWERING["constraints_per_instruction"],
                                               "the answered instruction carries 1 to this many verifiable constraints "
                                               "(those the evolution did not add are drawn); 0 = only add_constraints'")
    constraint_counts: str = setting(ANSWERING["constraint_counts"], "relative weights of carrying 1, 2, ... "
                                                                     "constraints_per_instruction constraints; empty = uniform")
    answer_samples: int = setting(ANSWERING["answer_samples"], "most answers drawn for a finished episode's instruction, "
                                                               "until one meets every constraint (each one a query)")
    sample_batch: int = setting(ANSWERING["sample_batch"], "answers drawn together in one request, per round")
    answer_tokens: int = setting(ANSWERING["answer_tokens"], "new-token cap of an answer")
    families: str = setting("draw", "who picks add_constraints' constraint type while training: draw (the run's type draw, "
                                    "as the main job's default; the policy gets no family head) or policy (a family head "
                                    "names the family, and learns from it)")
    evolved_every: int = setting(3, "every n-th episode starts from an instruction an earlier one evolved; 0 = seeds only")
    validate_every: int = setting(2, "updates between validation rounds (the policy's sampled episodes on the held-out seeds)")
    validation_episodes: int = setting(8, "held-out seeds evolved per validation round (the same ones each round)")
    patience: int = setting(2, "validation rounds without a better reward before training stops; the best policy is kept")
    algorithm: str = setting("trpo", "policy-gradient algorithm: trpo or ppo")
    gamma: float = setting(1.0, "discount (episodes are a few steps long)")
    lam: float = setting(0.95, "GAE lambda")
    max_kl: float = setting(0.05, "TRPO trust region: largest mean KL between policies of one update")
    damping: float = setting(0.1, "added to the Fisher matrix for conjugate gradient's stability")
    entropy_coef: float = setting(0.5, "entropy bonus in the surrogate (advantages are normalised): keeps the action mix from collapsing onto one operation")
    hidden_size: int = setting(64, "hidden width of actor and critic")
    value_iters: int = setting(50, "Adam steps fitting the critic per update")
    model: str = setting("local", "expert and reviewer model spec")
    base_url: str | None = setting(None, "OpenAI-compatible server for provider:model specs")

    def __post_init__(self):
        """Settings no run can use are an InputError naming the option, before any model loads."""
        if not self.out:
            raise InputError("an output folder is needed", field="--out")
        whole(self, "updates", "envs", "max_steps", "budget", "hidden_size", "validate_every", "validation_episodes",
              "patience", "answer_samples", "sample_batch", "answer_tokens", "value_iters", prefix="--")
        whole(self, "evolved_every", "constraints_per_instruction", least=0, prefix="--")
        non_negative(self, "verify_weight", "novelty_weight", "entropy_coef", "query_cost", "damping", prefix="--")
        unit(self, "gamma", "lam", prefix="--")
        positive(self, "max_kl", prefix="--")
        count_weights(self)  # bad constraint_counts fail here, before any model loads
        from ..evolve.routers import check_families

        check_families(self.families, "--families")
        if self.algorithm not in ("trpo", "ppo"):
            raise InputError(f"must be 'trpo' or 'ppo', got {self.algorithm!r}", field="--algorithm")
