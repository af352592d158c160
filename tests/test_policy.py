"""The learned router: TRPO on toy problems, the policy file format, features, and the router in the graph."""

import json
import re

import pytest
import torch

from conftest import ScriptedChat, task_of
from teamsrl_graph.running.budget import Budget
from teamsrl_graph.constraints import FAMILIES, TYPES, stated
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.models.factory import Models
from teamsrl_graph.policy.env import EvolutionEnv
from teamsrl_graph.policy.features import EMBED_DIM, EXTRA, feature_size, history_features, state_features
from teamsrl_graph.policy.model import ActorCritic, PolicyConfig, load_policy, save_policy
from teamsrl_graph.policy.router import PolicyRouter, shipped_policy_path
from teamsrl_graph.policy.config import PolicyTrainingConfig
from teamsrl_graph.policy.reward import RewardWeights, step_reward
from teamsrl_graph.policy.train import PolicyTrainer
from teamsrl_graph.policy.trpo import Batch, conjugate_gradient, fit_value, gae, trpo_update
from teamsrl_graph.evolve.actions import ACTIONS, OPERATIONS, STOP, Observation, split_action
from teamsrl_graph.evolve.review import judge
from teamsrl_graph.evolve.routers import make_router
from teamsrl_graph.dataio.seeds import Seed


# -- TRPO on its own ------------------------------------------------------------------------------

def bandit_batch(model, generator, n=64):
    """A contextual bandit: two contexts (one-hot), and in context k only action k pays 1."""
    context = torch.randint(0, 2, (n,), generator=generator)
    obs = torch.nn.functional.one_hot(context, 2).float()
    with torch.no_grad():
        dist = model.distribution(obs)
        actions = torch.multinomial(dist.probs, 1, generator=generator).squeeze(1)
        log_probs, values = dist.log_prob(actions), model.value(obs)
    rewards = (actions == context).float()
    return Batch(obs, actions, log_probs, rewards, values, torch.ones(n))


def train_bandit(seed: int, updates: int = 25) -> ActorCritic:
    torch.manual_seed(seed)
    model = ActorCritic(PolicyConfig(input_size=2, hidden_size=16, actions=("a", "b", "c")))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(updates):
        batch = bandit_batch(model, generator)
        advantages, returns = gae(batch.rewards, batch.values, batch.dones)
        trpo_update(model, batch, advantages, max_kl=0.05)
        fit_value(model, batch.obs, returns)
    return model


def test_trpo_learns_the_best_action_of_each_context_deterministically():
    model = train_bandit(seed=3)
    probs = model.distribution(torch.eye(2)).probs
    assert probs[0, 0] > 0.9 and probs[1, 1] > 0.9
    again = train_bandit(seed=3)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_trpo_respects_the_trust_region():
    torch.manual_seed(0)
    model = ActorCritic(PolicyConfig(input_size=2, hidden_size=8, actions=("a", "b", "c")))
    batch = bandit_batch(model, torch.Generator().manual_seed(0))
    advantages, _ = gae(batch.rewards, batch.values, batch.dones)
    stats = trpo_update(model, batch, advantages, max_kl=0.01)
    assert 0 < stats["kl"] <= 0.01 and stats["improvement"] > 0


def test_gae_on_a_chain_and_conjugate_gradient():
    # two episodes: rewards (0, 0, 1) then (1,); values 0: with gamma = lam = 1 advantages are returns-to-go
    adv, ret = gae(torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.zeros(4), torch.tensor([0.0, 0.0, 1.0, 1.0]), 1.0, 1.0)
    assert adv.tolist() == [1.0, 1.0, 1.0, 1.0] and torch.equal(adv, ret)
    a = torch.tensor([[4.0, 1.0], [1.0, 3.0]])
    x = conjugate_gradient(lambda v: a @ v, torch.tensor([1.0, 2.0]))
    assert torch.allclose(a @ x, torch.tensor([1.0, 2.0]), atol=1e-5)


# -- features -------------------------------------------------------------------------------------

def test_feature_shapes_and_history_encoding():
    history = [{"op": "deepen", "accepted": True, "reason": "gained", "score": 0.8},
               {"op": "breadth", "accepted": False, "reason": "no_gain", "score": 0.0}]
    first = Observation("Explain tides.", "Explain tides.", 0, 4)
    later = Observation("Explain tides in depth.", "Explain tides.", 2, 4, history, budget_left=0.25)
    x = state_features([first, later, first])
    assert x.shape == (3, feature_size()) == (3, EMBED_DIM + EXTRA)
    assert torch.allclose(x[:, :EMBED_DIM].norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.equal(x[0], x[2]) and not torch.equal(x[0, :EMBED_DIM], x[1, :EMBED_DIM])
    n = len(OPERATIONS)
    h = history_features(later)
    assert h[OPERATIONS.index("breadth")] == 1 and h[:n].sum() == 1  # last operation
    assert h[n + OPERATIONS.index("deepen")] == 0.25 and h[n:2 * n].sum() == 0.5  # counts / max_steps
    assert h[2 * n:-1].tolist() == [0.5, 0.25, 0.0, 0.0]  # step share, budget left, last accepted, last score
    assert history_features(first)[2 * n:-1].tolist() == [0.0, 1.0, 0.0, 0.0]  # no cap counts as all left
    assert x[0, -1] == pytest.approx(1.0, abs=1e-5) and 0.3 < x[1, -1] < 0.99  # drift: cosine to the seed


# -- the policy file ------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ActorCritic(PolicyConfig(hidden_size=8))
    path = save_policy(model, tmp_path / "p.safetensors", trained={"seed": 7})
    loaded = load_policy(tmp_path / "p")  # the stem works too
    assert path.name == "p.safetensors" and (tmp_path / "p.json").is_file()
    assert loaded.trained == {"seed": 7} and loaded.config.hidden_size == 8
    x = torch.randn(3, feature_size())
    assert torch.equal(model.actor(x), loaded.actor(x)) and torch.equal(model.value(x), loaded.value(x))


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(version=99), "field 'version': was written in policy format version 99; this teamsrl reads versions 2 and 3"),
    (lambda m: m.update(features=0), "field 'features'"),
    (lambda m: m.update(actions=m["actions"][:-1]), "field 'actions'"),
    (lambda m: m.update(input_size=10), "field 'input_size': is 10"),
    (lambda m: m.update(hidden_size=16), r"tensor actor\.0\.\w+ has shape \(8,?.*p\.json implies"),
    (lambda m: m.update(format="something"), "field 'format'"),
])
def test_load_names_what_does_not_match(tmp_path, change, message):
    save_policy(ActorCritic(PolicyConfig(hidden_size=8)), tmp_path / "p.safetensors")
    meta = json.loads((tmp_path / "p.json").read_text())
    change(meta)
    (tmp_path / "p.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=message):
        load_policy(tmp_path / "p.safetensors")


def test_a_policy_in_the_old_format_is_refused_with_its_version(tmp_path):
    """A version-1 file (384 + 16 inputs, no drift feature) as the previous release wrote it."""
    old = ActorCritic(PolicyConfig(input_size=EMBED_DIM + 16, hidden_size=8))
    save_policy(old, tmp_path / "old.safetensors")
    meta = json.loads((tmp_path / "old.json").read_text())
    meta.update(version=1, features=1)
    (tmp_path / "old.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"old\.json field 'version': was written in policy format version 1; "
                                         r"this teamsrl reads versions 2 and 3\. Retrain it with `teamsrl train-policy`"):
        make_router("policy", policy=str(tmp_path / "old.safetensors"))


def test_load_rejects_missing_and_broken_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_policy(tmp_path / "none.safetensors")
    save_policy(ActorCritic(PolicyConfig(hidden_size=8)), tmp_path / "p.safetensors")
    (tmp_path / "p.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_policy(tmp_path / "p.safetensors")


# -- the router in the graph ----------------------------------------------------------------------

def preferring(action: str) -> ActorCritic:
    """A policy that always picks `action` (by its output bias)."""
    model = ActorCritic(PolicyConfig(hidden_size=8))
    with torch.no_grad():
        model.actor[-1].weight.zero_()
        model.actor[-1].bias.zero_()
        model.actor[-1].bias[ACTIONS.index(action)] = 5.0
    return model


def test_policy_router_drives_the_graph(make_context, tmp_path):
    save_policy(preferring("deepen"), tmp_path / "deepen.safetensors")
    ctx = make_context(router="policy", policy=str(tmp_path / "deepen.safetensors"), max_steps=2)
    out = build_graph().invoke({"seed": "Explain how tides work."}, context=ctx)
    assert [s["op"] for s in out["path"]] == ["deepen", "deepen"] and out["response_ok"]
    # STOP is reachable: a policy that prefers it answers the seed as it is
    ctx = make_context(router=PolicyRouter(preferring(STOP)), max_steps=2)
    out = build_graph().invoke({"seed": "Explain how tides work."}, context=ctx)
    assert out["path"] == [] and out["instruction"] == "Explain how tides work." and out["queries"] == 1


def test_sampled_routing_is_reproducible():
    router = PolicyRouter(ActorCritic(PolicyConfig(hidden_size=8)), greedy=False, seed=1)
    obs = [Observation("Write a haiku.", "Write a haiku.", step, 4, index=i) for i in range(6) for step in range(2)]
    first = [router(o) for o in obs]
    assert first == [router(o) for o in obs] and {split_action(a)[0] for a in first} <= set(ACTIONS) and len(set(first)) > 1


def test_the_shipped_policy_loads_and_acts():
    assert shipped_policy_path().is_file()
    router = make_router("policy")
    obs = Observation("Describe how a rainbow forms.", "Describe how a rainbow forms.", 0, 3)
    assert split_action(router(obs))[0] in ACTIONS  # add_constraints may name a family ("add_constraints:keywords")
    probs = router.probabilities(obs)
    assert set(probs) == set(ACTIONS) and abs(sum(probs.values()) - 1) < 1e-5


def test_the_shipped_policy_was_trained_as_the_main_job_evolves_and_answers():
    from teamsrl_graph.commands.pipeline import ANSWERING, defaults

    trained = load_policy(shipped_policy_path()).trained
    main_job = {**ANSWERING, "max_steps": defaults().max_steps, "families": defaults().families}
    assert {k: trained.get(k) for k in main_job} == main_job


# -- the environment and the trainer --------------------------------------------------------------

def scripted_env(n_envs: int, max_steps: int, **kwargs) -> EvolutionEnv:
    """Only add_constraints produces a real change; every other operation returns the task unchanged."""
    def expert(prompt):
        task, requirement = task_of(prompt), re.search(r"^Requirement: (.*)$", prompt, re.M)
        return f"{task} {requirement.group(1)}" if requirement else task  # add_constraints works it in
    e, r = ScriptedChat(reply=expert), ScriptedChat(reply=lambda p: "Yes")
    answers = ScriptedChat(reply=lambda p: "A plain answer with two clear points.")
    return EvolutionEnv(Context(max_steps=max_steps), SEEDS, n_envs=n_envs,
                        models=Models(expert=e, reviewer=r, responder=answers), **kwargs)


SEEDS = [Seed(s) for s in ("Explain tides.", "Write a haiku about snow.", "Describe a volcano.", "List three fruits.")]


def test_env_steps_episodes_in_parallel_and_books_queries():
    env = scripted_env(3, 2, weights=RewardWeights(verify=0.0, novelty=0.0, query_cost=0.1), budget=Budget(max_queries=6))
    obs = env.reset()
    assert [o.instruction for o in obs] == [env.episodes[i].seed.instruction for i in range(3)]
    first = env.episodes[0]
    obs, rewards, dones = env.step(["add_constraints", "deepen", STOP])
    drawn = first.history[0]["constraint"]
    assert obs[0].history[0]["accepted"] and drawn["id"] in TYPES and stated(obs[0].instruction, drawn)
    assert first.seed.instruction.rstrip(".")[1:] in obs[0].instruction and first.constraints == [drawn]
    assert rewards[0] == pytest.approx(judge(first.seed.instruction, obs[0].instruction, True).score - 0.2)  # 2 queries
    assert rewards[1] == pytest.approx(-0.1)  # unchanged: eliminated by the free check, 1 query
    assert rewards[2] == 0.0 and dones == [False, False, True]
    obs, rewards, dones = env.step(["add_constraints", "add_constraints", "deepen"])
    assert env.budget.queries == 5 and env.exhausted and dones == [True, True, True]  # the second could not be funded


@pytest.mark.parametrize("passes", [True, False])
def test_a_verified_answer_adds_its_weight_to_the_reward(monkeypatch, passes):
    import teamsrl_graph.evolve.steps as steps_module

    results = lambda answer, constraints: {"strict": passes, "results": [{"strict": passes} for _ in constraints]}
    monkeypatch.setattr(steps_module, "verify", results)
    env = scripted_env(1, 1, weights=RewardWeights(verify=0.5, novelty=0.0, query_cost=0.1))
    env.reset()
    first = env.episodes[0]
    _, rewards, _ = env.step(["add_constraints"])  # max_steps 1: the step ends the episode, which is answered
    samples = 1 if passes else env.context.answer_samples  # sampling stops at the first answer that passes
    base = judge(first.seed.instruction, first.instruction, True).score - 0.2
    assert rewards[0] == pytest.approx(base + (0.5 if passes else 0.0) - 0.1 * samples)  # each answer is a query
    assert first.history[0]["verified"] is passes and env.budget.queries == 2 + samples


def test_trainer_learns_logs_plots_and_resumes(tmp_path):
    def trainer(out, updates):
        config = PolicyTrainingConfig(out=str(out), updates=updates, envs=4, max_steps=2, hidden_size=16, max_kl=0.05)
        return PolicyTrainer(config, env=scripted_env(4, 2, weights=RewardWeights(0.0, 0.0, 0.1)))

    straight = trainer(tmp_path / "a", 10)
    model = straight.train()
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 10 and {"mean_reward", "kl", "entropy", "actions", "queries"} <= set(log[0])
    assert (tmp_path / "a" / "reward.png").stat().st_size > 0 and (tmp_path / "a" / "actions.png").is_file()
    start = Observation("Describe a volcano.", "Describe a volcano.", 0, 2)
    probs = PolicyRouter(model).probabilities(start)
    assert probs["add_constraints"] == max(probs.values()) and probs["add_constraints"] > 0.4
    assert log[-1]["mean_reward"] > log[0]["mean_reward"]
    assert load_policy(tmp_path / "a" / "policy.safetensors").trained["updates_done"] == 10

    trainer(tmp_path / "b", 4).train()
    resumed = trainer(tmp_path / "b", 10)
    resumed.train()
    assert resumed.update == 10 and len((tmp_path / "b" / "log.jsonl").read_text().splitlines()) == 10
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), resumed.model.state_dict().values()))


@pytest.mark.parametrize("families", ["draw", "policy"])
def test_training_with_the_type_draw_gives_a_policy_without_a_family_head(tmp_path, families):
    config = PolicyTrainingConfig(out=str(tmp_path), updates=3, envs=4, max_steps=2, hidden_size=8, families=families)
    model = PolicyTrainer(config, env=scripted_env(4, 2)).train()
    loaded = load_policy(tmp_path / "policy")
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert loaded.trained["families"] == families and json.loads((tmp_path / "policy.json").read_text())["families"] == (
        list(FAMILIES) if families == "policy" else [])
    if families == "draw":  # no head, and no step named a family: the env's type draw picked every type
        assert model.family is None and loaded.family is None and all(entry["families"] == {} for entry in log)
    else:
        assert model.family is not None and loaded.family is not None


def test_resume_refuses_other_settings(tmp_path):
    config = PolicyTrainingConfig(out=str(tmp_path), updates=1, envs=2, max_steps=1, hidden_size=8)
    PolicyTrainer(config, env=scripted_env(2, 1)).train()
    other = PolicyTrainingConfig(out=str(tmp_path), updates=2, envs=2, max_steps=1, hidden_size=8, query_cost=0.5)
    with pytest.raises(InputError, match="query_cost"):
        PolicyTrainer(other, env=scripted_env(2, 1)).train()


@pytest.mark.parametrize("settings", [{}, {"answer_samples": 2, "sample_batch": 1, "constraints_per_instruction": 1,
                                          "answer_tokens": 64}])
def test_training_answers_as_the_main_job_does(tmp_path, settings):
    import argparse

    from teamsrl_graph.commands import pipeline

    main_job = argparse.ArgumentParser()
    pipeline.add_arguments(main_job)
    defaults = vars(main_job.parse_args([]))
    config = PolicyTrainingConfig(out=str(tmp_path), **settings)
    with PolicyTrainer(config)._build_env(0) as env:  # the model is not loaded before a call
        for name in ("answer_samples", "sample_batch", "constraints_per_instruction", "answer_tokens"):
            assert getattr(env.context, name) == getattr(config, name) == settings.get(name, defaults[name])


@pytest.mark.parametrize("option, value", [
    ("--updates", "0"), ("--value-iters", "0"), ("--evolved-every", "-1"), ("--query-cost", "-0.1"),
    ("--damping", "-1"), ("--gamma", "1.5"), ("--lam", "-0.5"), ("--max-kl", "0"), ("--entropy-coef", "-1"),
])
def test_training_settings_no_run_can_use_are_refused_by_option_before_any_model_loads(option, value, tmp_path,
                                                                                      capsys, monkeypatch):
    from teamsrl_graph.cli import main
    from teamsrl_graph.models import local

    monkeypatch.setattr(local, "load", lambda *a, **k: pytest.fail("a model was loaded"))
    assert main(["train-policy", "--out", str(tmp_path / "run"), option, value]) == 2
    assert f"field '{option}'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cli_rejects_bad_settings(tmp_path, capsys):
    from teamsrl_graph.cli import main

    assert main(["train-policy", "--out", str(tmp_path), "--updates", "0"]) == 2
    assert "--updates" in capsys.readouterr().err
    assert main(["train-policy", "--out", str(tmp_path), "--families", "head"]) == 2
    assert "--families" in capsys.readouterr().err


# -- the reward and its terms ---------------------------------------------------------------------

@pytest.mark.parametrize("gain, verified, novelty, queries, weights, expected", [
    (0.0, False, 0.0, 1, RewardWeights(0.5, 1.0, 0.1), -0.1),  # eliminated by the free checks
    (0.0, False, 0.0, 2, RewardWeights(0.5, 1.0, 0.1), -0.2),  # eliminated by the reviewer
    (0.75, False, 0.0, 2, RewardWeights(0.5, 1.0, 0.1), 0.55),  # gain only
    (0.75, True, 0.0, 3, RewardWeights(0.5, 1.0, 0.1), 0.95),  # + verified, one more query
    (0.5, False, 0.4, 2, RewardWeights(0.5, 1.0, 0.1), 0.7),  # + novelty
    (0.5, True, 0.4, 3, RewardWeights(0.3, 0.5, 0.2), 0.5 + 0.3 + 0.2 - 0.6),  # every term, other weights
    (1.0, True, 1.0, 3, RewardWeights(0.0, 0.0, 0.0), 1.0),  # weights of zero switch terms off
])
def test_step_reward_adds_each_term_with_its_weight(gain, verified, novelty, queries, weights, expected):
    assert step_reward(gain, verified, novelty, queries, weights) == pytest.approx(expected)


class WordEmbedder:
    """Bag-of-words unit vectors: instructions sharing words are close; no model needed."""
    def __call__(self, texts):
        rows = []
        for t in texts:
            v = torch.zeros(64)
            for w in re.findall(r"[a-z]+", t.lower()):
                v[sum(map(ord, w)) % 64] += 1
            rows.append(v / v.norm())
        return torch.stack(rows) if rows else torch.zeros(0, 64)


def test_novelty_is_the_distance_to_the_nearest_kept_instruction():
    from teamsrl_graph.policy.novelty import Novelty

    novelty = Novelty(WordEmbedder())
    assert novelty.of("Describe a volcano.") == 1.0  # nothing kept yet
    novelty.keep("Describe a volcano.")
    novelty.keep("Write a haiku about snow.")
    assert novelty.of("Describe a volcano.") == pytest.approx(0.0, abs=1e-6)
    near, far = novelty.of("Describe a volcano in detail."), novelty.of("List three fruits.")
    e = WordEmbedder()(["Describe a volcano in detail.", "Describe a volcano."])
    assert near == pytest.approx(1 - (e[0] @ e[1]).item()) and far > near


def test_env_rewards_novelty_and_keeps_what_it_accepted():
    env = scripted_env(2, 1, weights=RewardWeights(verify=0.0, novelty=2.0, query_cost=0.1), embedder=WordEmbedder())
    env.reset()
    assert len(env.novelty) == 2  # the seeds of the episodes started
    first = env.episodes[0]
    _, rewards, _ = env.step(["add_constraints", "deepen"])
    step = first.history[0]
    assert step["accepted"] and 0 < step["novelty"] < 1 and len(env.novelty) == 3  # one accepted, kept
    assert rewards[0] == pytest.approx(step["score"] + 2.0 * step["novelty"] - 0.2, abs=1e-3)
    assert env.episodes[1].history[0]["novelty"] == 0.0 and rewards[1] == pytest.approx(-0.1)  # eliminated: none


def test_evolved_instructions_start_later_episodes_with_their_constraints():
    env = scripted_env(2, 1, weights=RewardWeights(0.0, 0.0, 0.1), evolved_every=2)
    env.reset()
    env.step(["add_constraints", "deepen"])
    evolved = env.episodes[0]
    env.reset()  # episode 3 comes from the seeds, episode 4 is the one evolved instruction
    assert env.episodes[1].instruction == evolved.instruction and env.episodes[1].constraints == evolved.constraints
    assert env.episodes[0].seed.instruction != evolved.instruction and env.cursor == 3
    env.reset(SEEDS[:3])  # validation: the given seeds, the order untouched
    assert [e.seed for e in env.episodes] == SEEDS[:3] and env.cursor == 3


# -- exploration ----------------------------------------------------------------------------------

def near_tie_bandit(entropy_coef: float, seed: int = 0, updates: int = 30) -> list[float]:
    """Three arms paying 1.0, 0.9 and 0.8 (plus noise), like operations of similar worth."""
    torch.manual_seed(seed)
    model = ActorCritic(PolicyConfig(input_size=1, hidden_size=16, actions=("a", "b", "c")))
    generator = torch.Generator().manual_seed(seed)
    pay = torch.tensor([1.0, 0.9, 0.8])
    obs = torch.ones(64, 1)
    for _ in range(updates):
        with torch.no_grad():
            dist = model.distribution(obs)
            actions = torch.multinomial(dist.probs, 1, generator=generator).squeeze(1)
            log_probs, values = dist.log_prob(actions), model.value(obs)
        rewards = pay[actions] + 0.1 * torch.randn(64, generator=generator)
        batch = Batch(obs, actions, log_probs, rewards, values, torch.ones(64))
        advantages, returns = gae(batch.rewards, batch.values, batch.dones)
        trpo_update(model, batch, advantages, max_kl=0.05, entropy_coef=entropy_coef)
        fit_value(model, obs, returns)
    with torch.no_grad():
        return model.distribution(obs[:1]).probs[0].tolist()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_entropy_bonus_keeps_the_policy_from_collapsing(seed):
    without = near_tie_bandit(0.0, seed)
    assert without[0] > 0.99  # collapsed onto the best arm
    default = PolicyTrainingConfig(out="x").entropy_coef
    kept = near_tie_bandit(default, seed)
    assert kept[0] == max(kept) and kept[0] < 0.95 and min(kept) > 0.01  # still prefers it, still explores


def test_the_learned_router_samples_by_default_and_greedy_is_an_option(tmp_path):
    model = ActorCritic(PolicyConfig(hidden_size=8))
    with torch.no_grad():
        model.actor[-1].weight.zero_()
        model.actor[-1].bias.copy_(torch.tensor([1.0, 0.8, 0.6, 0.4, 0.2, 0.0, -1.0]))
    save_policy(model, tmp_path / "p.safetensors")
    obs = [Observation("Write a haiku.", "Write a haiku.", 0, 3, index=i) for i in range(40)]
    sampled = [make_router("policy", seed=5, policy=str(tmp_path / "p.safetensors"))(o) for o in obs]
    assert len(set(sampled)) > 2 and sampled == [make_router("policy", seed=5, policy=str(tmp_path / "p"))(o) for o in obs]
    assert sampled != [make_router("policy", seed=6, policy=str(tmp_path / "p"))(o) for o in obs]
    greedy = make_router("policy", policy=str(tmp_path / "p"), routing="greedy")
    assert {split_action(greedy(o))[0] for o in obs} == {ACTIONS[0]}
    with pytest.raises(InputError, match="routing"):
        make_router("policy", routing="best")


# -- validation and early stopping ----------------------------------------------------------------

def test_validation_reward_is_logged_and_stops_training_keeping_the_best(tmp_path):
    config = PolicyTrainingConfig(out=str(tmp_path), updates=12, envs=4, max_steps=2, hidden_size=16,
                                  validate_every=1, validation_episodes=2, patience=2)
    trainer = PolicyTrainer(config, env=scripted_env(4, 2, weights=RewardWeights(0.0, 0.0, 0.1)),
                            validation_seeds=SEEDS[:2])
    trainer.train()
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    rewards = [entry["validation_reward"] for entry in log]
    assert all(r is not None for r in rewards) and (tmp_path / "validation.png").is_file()
    best = max(rewards)
    assert len(log) < 12 and rewards.index(best) == len(log) - 3  # two rounds without a better reward: stop
    assert load_policy(tmp_path / "policy.safetensors").trained["validation_reward"] == best
    assert {"stop_by_step", "terms_by_op"} <= set(log[0]) and len(log[0]["stop_by_step"]) == 2
    assert [row["stop_share"] or 0.0 for row in log[0]["stops"]] == log[0]["stop_by_step"]
    checked = [entry for entry in log if entry["validation_reward"] is not None]
    assert checked and all(len(entry["validation_stops"]) == 2 for entry in checked)
    for op, terms in log[0]["terms_by_op"].items():
        assert op in OPERATIONS and {"score", "verified", "novelty", "queries", "reward", "n"} <= set(terms)


def test_a_validation_the_budget_cut_short_is_no_validation_reward(tmp_path):
    config = PolicyTrainingConfig(out=str(tmp_path), updates=3, envs=4, max_steps=2, hidden_size=16,
                                  validate_every=1, validation_episodes=2)
    env = scripted_env(4, 2, weights=RewardWeights(0.0, 0.0, 0.1), budget=Budget(max_queries=5))
    PolicyTrainer(config, env=env, validation_seeds=SEEDS[:2]).train()  # training's episodes spend the budget
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert env.exhausted and [entry["validation_reward"] for entry in log] == [None]
    assert load_policy(tmp_path / "policy.safetensors").trained["validation_reward"] is None


def test_a_runs_report_names_the_policy_that_routed_it(tmp_path):
    import hashlib

    from teamsrl_graph.running.report import routing_policy

    shipped = shipped_policy_path()
    assert routing_policy("policy", None) == {"file": shipped.name,
                                              "sha256": hashlib.sha256(shipped.read_bytes()).hexdigest()[:16]}
    save_policy(ActorCritic(PolicyConfig(hidden_size=8)), tmp_path / "mine.safetensors")
    mine = routing_policy("policy", str(tmp_path / "mine"))
    assert mine["file"] == "mine.safetensors" and mine["sha256"] != routing_policy("policy", None)["sha256"]
    assert routing_policy("random", str(tmp_path / "mine")) is None and routing_policy("fixed", None) is None
