"""`PolicyTrainer`: TRPO (or PPO) on the evolution environment, with logs, plots and resume.

Each update collects `envs` whole episodes from `EvolutionEnv` (sampling actions from the policy),
computes GAE advantages, takes one TRPO step on the actor and fits the critic. After every update
it appends a line to `OUT/log.jsonl` (mean reward, KL, entropy, action mix, queries...), redraws
`OUT/reward.png` and `OUT/actions.png`, and checkpoints to `OUT/checkpoint/`; a later run with the
same settings resumes there. The final policy is `OUT/policy.safetensors` + `OUT/policy.json`.
Training stops early when its query budget cannot fund another step.
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

from ..budget import Budget
from ..errors import InputError
from ..files import write_json, write_jsonl
from ..plots import line_plot
from ..actions import ACTIONS, STOP
from .config import RESUMABLE, PolicyTrainingConfig
from .features import state_features
from .model import ActorCritic, PolicyConfig, load_policy, save_policy
from .trpo import Batch, fit_value, gae, ppo_update, trpo_update

log = logging.getLogger("teamsrl.policy")

class PolicyTrainer:
    def __init__(self, config: PolicyTrainingConfig, env=None, embedder=None):
        """`env` defaults to an `EvolutionEnv` over `config.seeds` under `config.budget` (a given env brings its
        own budget); `embedder` defaults to MiniLM."""
        self.config, self.out, self.env, self.embedder = config, Path(config.out), env, embedder
        with torch.random.fork_rng(devices=[]):  # a seeded initialisation that leaves the caller's RNG alone
            torch.manual_seed(config.seed)
            self.model = ActorCritic(PolicyConfig(hidden_size=config.hidden_size))
        self.generator = torch.Generator().manual_seed(config.seed)
        self.update, self.history = 0, []
        self.pending_env_state = None  # the environment's position, read from a checkpoint

    # -- checkpoints ---------------------------------------------------------------------------
    def _save_checkpoint(self):
        folder = self.out / "checkpoint"
        save_policy(self.model, folder / "policy.safetensors", trained=asdict(self.config))
        state = {"update": self.update, "queries": self.env.budget.queries, "env": self.env.state_dict(),
                 "generator": base64.b64encode(self.generator.get_state().numpy().tobytes()).decode(),
                 "config": asdict(self.config)}
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
        self.pending_env_state = state["env"]
        lines = (self.out / "log.jsonl").read_text().splitlines() if (self.out / "log.jsonl").is_file() else []
        self.history = [json.loads(line) for line in lines[: self.update]]
        log.info("resuming after update %d (%d queries used)", self.update, state["queries"])
        return state["queries"]

    def _build_env(self, queries_used: int):
        from ..context import Context
        from ..seeds import load_seeds
        from .env import EvolutionEnv

        c = self.config
        budget = Budget(max_queries=c.budget, queries=queries_used)
        return EvolutionEnv(Context(model=c.model, base_url=c.base_url, max_steps=c.max_steps), load_seeds(c.seeds),
                            n_envs=c.envs, query_cost=c.query_cost, budget=budget, seed=c.seed)

    # -- one update ----------------------------------------------------------------------------
    def collect(self) -> tuple[Batch, list]:
        """Run `envs` episodes to their end; returns the batch (episode after episode) and final observations."""
        obs = self.env.reset()
        steps = [[] for _ in obs]
        active = [True] * len(obs)
        while any(active):
            idx = [i for i, a in enumerate(active) if a]
            x = state_features([obs[i] for i in idx], self.embedder)
            with torch.no_grad():
                dist, values = self.model.distribution(x), self.model.value(x)
                picked = torch.multinomial(dist.probs, 1, generator=self.generator).squeeze(1)
                log_probs = dist.log_prob(picked)
            actions = [STOP] * len(obs)
            for k, i in enumerate(idx):
                actions[i] = ACTIONS[picked[k]]
            obs, rewards, dones = self.env.step(actions)
            for k, i in enumerate(idx):
                steps[i].append((x[k], picked[k], log_probs[k], values[k], rewards[i], float(dones[i])))
                active[i] = not dones[i]
        flat = [s for episode in steps for s in episode]
        cols = list(zip(*flat))
        batch = Batch(torch.stack(cols[0]), torch.stack(cols[1]), torch.stack(cols[2]),
                      torch.tensor(cols[4], dtype=torch.float32), torch.stack(cols[3]), torch.tensor(cols[5]))
        return batch, obs

    def step(self) -> dict:
        """Collect, update the actor (TRPO/PPO) and the critic; returns this update's log entry."""
        c, started, queries_before = self.config, time.monotonic(), self.env.budget.queries
        batch, final = self.collect()
        advantages, returns = gae(batch.rewards, batch.values, batch.dones, c.gamma, c.lam)
        self.model.train()
        if c.algorithm == "trpo":
            stats = trpo_update(self.model, batch, advantages, c.max_kl, c.damping, entropy_coef=c.entropy_coef)
        else:
            stats = ppo_update(self.model, batch, advantages, entropy_coef=c.entropy_coef)
        value_loss = fit_value(self.model, batch.obs, returns, c.value_iters)
        self.update += 1
        evolutions = [s for o in final for s in o.history]
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
            "accept_by_op": {op: round(sum(s["accepted"] for s in evolutions if s["op"] == op) / n, 3)
                             for op, n in Counter(s["op"] for s in evolutions).items()},
            "queries": self.env.budget.queries - queries_before,
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
            while self.update < c.updates and not self.env.exhausted:
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
        settings = {k: v for k, v in asdict(c).items() if k != "out"}
        save_policy(self.model, self.out / "policy.safetensors",
                    trained={**settings, "updates_done": self.update, "queries": self.env.budget.queries})
        return self.model.eval()
