"""`PolicyTrainer`: TRPO (or PPO) on the evolution environment, with validation, logs, plots and resume.

Each update collects `envs` whole episodes from `EvolutionEnv` (sampling actions from the policy),
computes GAE advantages, takes one TRPO step on the actor (with an entropy bonus, so the action mix
does not collapse onto one operation) and fits the critic. Every `validate_every` updates the policy
evolves the same held-out seeds (sampled actions, a fixed random stream, queries booked like the
rest); training stops early after `patience` rounds without a better validation reward, and the best
policy is the one written. After every update it appends a line to `OUT/log.jsonl` (mean reward, KL,
entropy, action mix, where STOP fired and the verified yield of the episodes it ended - in training
and validation -, the reward terms per operation, validation reward...), redraws
`OUT/reward.png`, `OUT/actions.png` and `OUT/validation.png`, and checkpoints to `OUT/checkpoint/`; a
later run with the same settings resumes there. The final policy is `OUT/policy.safetensors` +
`OUT/policy.json`. Training also stops when its query budget cannot fund another step.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import torch

from ..running.budget import Budget
from ..common.errors import InputError
from ..common.files import write_json, write_jsonl
from ..common.plots import line_plot
from ..commands.pipeline import ANSWERING
from ..evolve.actions import ACTIONS, STOP, join_action
from ..evolve.stops import stop_table
from .config import RESUMABLE, PolicyTrainingConfig
from .features import state_features
from ..constraints import FAMILIES
from .model import ActorCritic, PolicyConfig, load_policy, save_policy
from .reward import RewardWeights
from .joint import NO_FAMILY
from .trpo import Batch, fit_value, gae, ppo_update, trpo_update

log = logging.getLogger("teamsrl.policy")
VALIDATION_SHARE = 5  # with no --validation file, every fifth shipped seed is held out


def split_seeds(seeds: list) -> tuple[list, list]:
    """(training, validation): every VALIDATION_SHARE-th seed validates, the rest train."""
    return ([s for i, s in enumerate(seeds) if i % VALIDATION_SHARE != VALIDATION_SHARE - 1],
            [s for i, s in enumerate(seeds) if i % VALIDATION_SHARE == VALIDATION_SHARE - 1])


def step_terms(evolutions: list[dict]) -> dict:
    """Mean of each reward term per operation over `evolutions` (history entries)."""
    terms = {}
    for op in sorted({s["op"] for s in evolutions}):
        mine = [s for s in evolutions if s["op"] == op]
        terms[op] = {k: round(sum(float(s.get(k, 0)) for s in mine) / len(mine), 4)
                     for k in ("score", "verified", "novelty", "queries", "reward")}
        terms[op]["n"] = len(mine)
    return terms


def episode_stops(taken: list[list[str]], episodes: list, max_steps: int) -> list[dict]:
    """`stops.stop_table` of a batch: each episode's actions and whether its final instruction was verified."""
    return stop_table([(actions, e.verified) for actions, e in zip(taken, episodes)], max_steps)


class PolicyTrainer:
    def __init__(self, config: PolicyTrainingConfig, env=None, embedder=None, validation_seeds=None):
        """`env` defaults to an `EvolutionEnv` over `config.seeds` under `config.budget` (a given env brings its
        own budget and reward weights, and validates on `validation_seeds`); `embedder` defaults to MiniLM."""
        self.config, self.out, self.env, self.embedder = config, Path(config.out), env, embedder
        with torch.random.fork_rng(devices=[]):  # a seeded initialisation that leaves the caller's RNG alone
            torch.manual_seed(config.seed)
            heads = FAMILIES if config.families == "policy" else ()  # no family head: the type draw picks, as in the main job
            self.model = ActorCritic(PolicyConfig(hidden_size=config.hidden_size, families=heads))
        self.generator = torch.Generator().manual_seed(config.seed)
        self.update, self.history = 0, []
        self.pending_env_state = None  # the environment's position, read from a checkpoint
        self.validation_seeds = list(validation_seeds or [])[: config.validation_episodes]  # or set with the env
        self.best, self.stale, self.best_state = None, 0, None  # best validation reward, rounds since, its weights

    # -- checkpoints ---------------------------------------------------------------------------
    def _save_checkpoint(self):
        folder = self.out / "checkpoint"
        save_policy(self.model, folder / "policy.safetensors", trained=asdict(self.config))
        state = {"update": self.update, "queries": self.env.budget.queries, "env": self.env.state_dict(),
                 "generator": base64.b64encode(self.generator.get_state().numpy().tobytes()).decode(),
                 "config": asdict(self.config), "best": self.best, "stale": self.stale}
        if self.best_state is not None:
            best = ActorCritic(self.model.config)
            best.load_state_dict(self.best_state)
            save_policy(best, folder / "best.safetensors", trained=asdict(self.config))
        write_json(folder / "state.json", state)

    def _resume(self) -> int:
        """Load `OUT/checkpoint` if there is one; returns the queries it had used."""
        path = self.out / "checkpoint" / "state.json"
        if not path.is_file():
            return 0
        state = json.loads(path.read_text())
        mine = asdict(self.config)
        for key, value in state["config"].items():
            if key not in RESUMABLE and mine.get(key) != value:
                raise InputError(f"the checkpoint was trained with {key}={value!r}, not {mine.get(key)!r}; "
                                 "use the same settings or another --out", path=path, field=key)
        self.model = load_policy(self.out / "checkpoint" / "policy.safetensors").train()
        self.generator.set_state(torch.frombuffer(bytearray(base64.b64decode(state["generator"])), dtype=torch.uint8))
        self.update = state["update"]
        self.best, self.stale = state.get("best"), state.get("stale", 0)
        if (self.out / "checkpoint" / "best.safetensors").is_file():
            self.best_state = load_policy(self.out / "checkpoint" / "best.safetensors").state_dict()
        self.pending_env_state = state["env"]
        lines = (self.out / "log.jsonl").read_text().splitlines() if (self.out / "log.jsonl").is_file() else []
        self.history = [json.loads(line) for line in lines[: self.update]]
        log.info("resuming after update %d (%d queries used)", self.update, state["queries"])
        return state["queries"]

    def weights(self) -> RewardWeights:
        c = self.config
        return RewardWeights(verify=c.verify_weight, novelty=c.novelty_weight, query_cost=c.query_cost)

    def _build_env(self, queries_used: int):
        from ..evolve.context import Context
        from ..dataio.seeds import load_seeds
        from .env import EvolutionEnv

        c = self.config
        shipped_train, shipped_validation = split_seeds(load_seeds())
        train = load_seeds(c.seeds) if c.seeds else shipped_train
        self.validation_seeds = (load_seeds(c.validation) if c.validation else shipped_validation)[: c.validation_episodes]
        budget = Budget(max_queries=c.budget, queries=queries_used)
        answering = {name: getattr(c, name) for name in ANSWERING}
        return EvolutionEnv(Context(model=c.model, base_url=c.base_url, max_steps=c.max_steps, **answering), train,
                            n_envs=c.envs, weights=self.weights(), budget=budget, seed=c.seed,
                            evolved_every=c.evolved_every, embedder=self.embedder)

    # -- one update ----------------------------------------------------------------------------
    def collect(self, seeds=None, generator=None) -> tuple[Batch, list, list]:
        """Run episodes to their end (`envs` training ones, or one per seed of `seeds`), sampling with
        `generator` (the trainer's own by default); returns the batch (episode after episode), final
        observations and each episode's actions."""
        obs = self.env.reset(seeds)
        generator = generator or self.generator
        steps = [[] for _ in obs]
        active = [True] * len(obs)
        while any(active):
            idx = [i for i, a in enumerate(active) if a]
            x = state_features([obs[i] for i in idx], self.embedder)
            with torch.no_grad():
                joint, values = self.model.policy(x), self.model.value(x)
                picked = torch.multinomial(joint.action.probs, 1, generator=generator).squeeze(1)
                families = torch.full_like(picked, NO_FAMILY)
                if joint.family is not None:  # a family is chosen with add_constraints only
                    drawn = torch.multinomial(joint.family.probs, 1, generator=generator).squeeze(1)
                    families = torch.where(picked == joint.family_action, drawn, families)
                log_probs = joint.log_prob(picked, families)
            actions = [STOP] * len(obs)
            for k, i in enumerate(idx):
                family = self.model.config.families[families[k]] if families[k] != NO_FAMILY else None
                actions[i] = join_action(ACTIONS[picked[k]], family)
            obs, rewards, dones = self.env.step(actions)
            for k, i in enumerate(idx):
                steps[i].append((x[k], picked[k], log_probs[k], values[k], rewards[i], float(dones[i]), families[k]))
                active[i] = not dones[i]
        flat = [s for episode in steps for s in episode]
        cols = list(zip(*flat))
        batch = Batch(torch.stack(cols[0]), torch.stack(cols[1]), torch.stack(cols[2]),
                      torch.tensor(cols[4], dtype=torch.float32), torch.stack(cols[3]), torch.tensor(cols[5]),
                      torch.stack(cols[6]))
        return batch, obs, [[ACTIONS[s[1]] for s in episode] for episode in steps]

    def validate(self) -> tuple[float | None, list | None]:
        """Mean episode return of the policy on the held-out seeds and where STOP ended them
        (`episode_stops`); (None, None) without any, and no return when the budget ran out."""
        if not self.validation_seeds:
            return None, None
        generator = torch.Generator().manual_seed(self.config.seed + 1)  # the same stream every round
        batch, final, taken = self.collect(self.validation_seeds, generator)
        stops = episode_stops(taken, self.env.episodes, self.config.max_steps)
        if self.env.exhausted:  # episodes the budget cut short measure the budget, not the policy
            log.info("the query budget ran out during validation; round %d has no validation reward", self.update)
            return None, stops
        return round(batch.rewards.sum().item() / len(final), 4), stops

    def step(self) -> dict:
        """Collect, update the actor (TRPO/PPO) and the critic; returns this update's log entry."""
        c, started, queries_before = self.config, time.monotonic(), self.env.budget.queries
        batch, final, taken = self.collect()
        advantages, returns = gae(batch.rewards, batch.values, batch.dones, c.gamma, c.lam)
        self.model.train()
        if c.algorithm == "trpo":
            stats = trpo_update(self.model, batch, advantages, c.max_kl, c.damping, entropy_coef=c.entropy_coef)
        else:
            stats = ppo_update(self.model, batch, advantages, entropy_coef=c.entropy_coef)
        value_loss = fit_value(self.model, batch.obs, returns, c.value_iters)
        self.update += 1
        evolutions = [s for o in final for s in o.history]
        stops = episode_stops(taken, self.env.episodes, c.max_steps)  # before validation resets the episodes
        validation, validation_stops = self.validate() if self.update % c.validate_every == 0 else (None, None)
        if validation is not None:
            if self.best is None or validation > self.best:
                self.best, self.stale = validation, 0
                self.best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
            else:
                self.stale += 1
        mix = Counter(ACTIONS[a] for a in batch.actions.tolist())
        episodes = len(final)
        return {
            "update": self.update,
            "episodes": episodes,
            "mean_reward": round(batch.rewards.sum().item() / episodes, 4),  # mean return of an episode
            "mean_score": round(sum(s["score"] for s in evolutions) / max(1, len(evolutions)), 4),
            "accept_rate": round(sum(s["accepted"] for s in evolutions) / max(1, len(evolutions)), 4),
            "mean_steps": round(len(evolutions) / episodes, 3),
            "kl": round(stats["kl"], 6),
            "entropy": round(stats["entropy"], 4),
            "step_fraction": stats["step_fraction"],
            "value_loss": round(value_loss, 5),
            "actions": {a: round(mix[a] / len(batch.actions), 4) for a in ACTIONS},
            "families": dict(Counter(s["family"] for s in evolutions if s.get("family")).most_common()),
            "stop_by_step": [row["stop_share"] or 0.0 for row in stops],  # share of running episodes STOP ended
            "stops": stops,  # per step: reached, stops, stop_share, verified_yield of the episodes STOP ended
            "validation_stops": validation_stops,
            "terms_by_op": step_terms(evolutions),
            "validation_reward": validation,
            "accept_by_op": {op: round(sum(s["accepted"] for s in evolutions if s["op"] == op) / n, 3)
                             for op, n in Counter(s["op"] for s in evolutions).items()},
            "queries": self.env.budget.queries - queries_before,  # validation included
            "queries_total": self.env.budget.queries,
            "seconds": round(time.monotonic() - started, 1),
        }

    def plot(self):
        x = [h["update"] for h in self.history]
        line_plot(self.out / "reward.png", {"mean episode reward": [h["mean_reward"] for h in self.history],
                                            "acceptance rate": [h["accept_rate"] for h in self.history]},
                  x=x, xlabel="update", title="policy training")
        line_plot(self.out / "actions.png", {a: [h["actions"][a] for h in self.history] for a in ACTIONS},
                  x=x, xlabel="update", ylabel="share of actions", title="action mix")
        checked = [h for h in self.history if h.get("validation_reward") is not None]
        if checked:
            line_plot(self.out / "validation.png", {"validation reward": [h["validation_reward"] for h in checked]},
                      x=[h["update"] for h in checked], xlabel="update", title="held-out seeds")

    # -- the loop ------------------------------------------------------------------------------
    def train(self) -> ActorCritic:
        from tqdm.auto import tqdm

        c = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        queries_used = self._resume()
        own_env = self.env is None
        if own_env:
            self.env = self._build_env(queries_used)
        if self.pending_env_state:
            self.env.load_state_dict(self.pending_env_state)
        bar = tqdm(total=c.updates, initial=min(self.update, c.updates), unit="update", desc="train-policy")
        try:
            while self.update < c.updates and not self.env.exhausted and self.stale < c.patience:
                entry = self.step()
                self.history.append(entry)
                write_jsonl(self.out / "log.jsonl", self.history)  # whole: a resumed run drops lines past its checkpoint
                self._save_checkpoint()
                self.plot()
                bar.update(1)
                bar.set_postfix(reward=entry["mean_reward"], kl=entry["kl"], queries=entry["queries_total"])
        finally:
            bar.close()
            if own_env:
                self.env.close()  # its thread pool; the env stays readable (budget, cursor)
        if self.env.exhausted:
            log.info("the query budget (%d) is spent; stopping after update %d", c.budget, self.update)
        if self.stale >= c.patience:
            log.info("no better validation reward in %d rounds; stopping after update %d", self.stale, self.update)
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        settings = {k: v for k, v in asdict(c).items() if k != "out"}
        save_policy(self.model, self.out / "policy.safetensors",
                    trained={**settings, "updates_done": self.update, "queries": self.env.budget.queries,
                             "validation_reward": self.best})
        return self.model.eval()
