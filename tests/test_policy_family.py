"""The policy's family head: its shapes, where its log-probability counts, how TRPO/PPO train it, the
policy file with and without it, and the router that names the family."""

import json

import pytest
import torch

from teamsrl_graph.constraints import FAMILIES, family_of
from teamsrl_graph.evolve.actions import ACTIONS, STOP, Observation, split_action
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.evolve.routers import make_router
from teamsrl_graph.policy.features import feature_size
from teamsrl_graph.policy.joint import NO_FAMILY, kl
from teamsrl_graph.policy.model import ActorCritic, PolicyConfig, load_policy, save_policy
from teamsrl_graph.policy.router import PolicyRouter
from teamsrl_graph.policy.trpo import Batch, ppo_update, trpo_update

ADD, DEEPEN = ACTIONS.index("add_constraints"), ACTIONS.index("deepen")


def model(seed=0, **config) -> ActorCritic:
    torch.manual_seed(seed)
    return ActorCritic(PolicyConfig(hidden_size=8, **config))


def test_the_heads_shapes():
    joint = model().policy(torch.randn(5, feature_size()))
    assert joint.action.probs.shape == (5, len(ACTIONS)) and joint.family.probs.shape == (5, len(FAMILIES))
    assert joint.family_action == ADD and kl(joint, joint).shape == (5,)
    assert model(families=()).policy(torch.randn(5, feature_size())).family is None
    assert model(input_size=2, actions=("a", "b")).family is None  # no action takes a family


@pytest.mark.parametrize("action, family, counted", [
    (ADD, 3, True),  # add_constraints with a family: both log-probabilities
    (ADD, NO_FAMILY, False),  # add_constraints without one (a policy routing with no family)
    (DEEPEN, 3, False),  # another operation: a family index there is ignored
    (ACTIONS.index(STOP), NO_FAMILY, False),
])
def test_the_family_log_prob_counts_only_for_add_constraints(action, family, counted):
    joint = model().policy(torch.randn(1, feature_size()))
    actions, families = torch.tensor([action]), torch.tensor([family])
    expected = joint.action.log_prob(actions) + (joint.family.log_prob(torch.tensor([3])) if counted else 0)
    assert torch.allclose(joint.log_prob(actions, families), expected)


def family_batch(net: ActorCritic, action: int, n: int = 64, seed: int = 0) -> Batch:
    """States where `action` is taken with a random family; only family 2 pays."""
    generator = torch.Generator().manual_seed(seed)
    obs = torch.randn(n, feature_size(), generator=generator)
    actions = torch.full((n,), action)
    families = torch.randint(0, len(FAMILIES), (n,), generator=generator)
    with torch.no_grad():
        joint = net.policy(obs)
        log_probs, values = joint.log_prob(actions, families), net.value(obs)
    rewards = (families == 2).float()
    return Batch(obs, actions, log_probs, rewards, values, torch.ones(n), families)


@pytest.mark.parametrize("update", [
    lambda net, batch, adv: trpo_update(net, batch, adv, max_kl=0.05),
    lambda net, batch, adv: ppo_update(net, batch, adv),
])
def test_the_family_head_learns_from_add_constraints_steps_only(update):
    for action, learns in ((ADD, True), (DEEPEN, False)):
        net = model()
        before = {k: v.clone() for k, v in net.family.state_dict().items()}
        x = torch.randn(16, feature_size())
        p_before = net.policy(x).family.probs[:, 2].mean().item()
        batch = family_batch(net, action)
        update(net, batch, batch.rewards - batch.rewards.mean())
        unchanged = all(torch.equal(before[k], v) for k, v in net.family.state_dict().items())
        assert unchanged is not learns, action
        if learns:
            assert net.policy(x).family.probs[:, 2].mean().item() > p_before + 0.003  # toward the family that paid


def test_a_policy_file_round_trips_with_its_family_head(tmp_path):
    net = model()
    with torch.no_grad():
        net.family[-1].bias[FAMILIES.index("keywords")] = 3.0
    save_policy(net, tmp_path / "p.safetensors")
    meta = json.loads((tmp_path / "p.json").read_text())
    assert meta["version"] == 3 and meta["families"] == list(FAMILIES)
    loaded = load_policy(tmp_path / "p")
    x = torch.randn(3, feature_size())
    assert torch.equal(net.family(x), loaded.family(x)) and torch.equal(net.actor(x), loaded.actor(x))


def test_a_policy_trained_with_the_type_draw_round_trips_without_a_family_head(tmp_path):
    net = model(families=())
    save_policy(net, tmp_path / "p.safetensors")
    assert json.loads((tmp_path / "p.json").read_text())["families"] == []
    loaded = load_policy(tmp_path / "p")
    x = torch.randn(3, feature_size())
    assert loaded.family is None and torch.equal(net.actor(x), loaded.actor(x))


@pytest.mark.parametrize("change", ["one short", "another list", "missing"])
def test_a_family_list_of_another_registry_is_refused(tmp_path, change):
    save_policy(model(), tmp_path / "p.safetensors")
    meta = json.loads((tmp_path / "p.json").read_text())
    if change == "missing":
        del meta["families"]
    else:
        meta["families"] = meta["families"][:-1] if change == "one short" else ["keywords"]
    (tmp_path / "p.json").write_text(json.dumps(meta))
    with pytest.raises(Exception, match="field 'families'"):
        load_policy(tmp_path / "p")


def preferring_add_constraints(families=FAMILIES, family="keywords") -> ActorCritic:
    net = model(families=families)
    with torch.no_grad():
        net.actor[-1].weight.zero_()
        net.actor[-1].bias.zero_()
        net.actor[-1].bias[ADD] = 6.0
        if net.family is not None:
            net.family[-1].weight.zero_()
            net.family[-1].bias[FAMILIES.index(family)] = 6.0
    return net


def test_a_version_2_policy_loads_and_routes_with_no_family(tmp_path):
    """A file as the previous format wrote it: no family head, no families in its description."""
    save_policy(preferring_add_constraints(families=()), tmp_path / "old.safetensors")
    meta = json.loads((tmp_path / "old.json").read_text())
    del meta["families"]
    meta["version"] = 2
    (tmp_path / "old.json").write_text(json.dumps(meta))
    router = make_router("policy", policy=str(tmp_path / "old"), routing="greedy")
    assert router.model.family is None and router.family_probabilities(Observation("Hi.", "Hi.", 0, 3)) == {}
    assert {router(Observation("Write a haiku.", "Write a haiku.", 0, 3, index=i)) for i in range(5)} == {"add_constraints"}


def test_a_policy_with_a_family_head_names_a_family_exactly_with_add_constraints(tmp_path):
    save_policy(model(), tmp_path / "p.safetensors")  # near uniform over the actions and the families
    router = make_router("policy", policy=str(tmp_path / "p"), families="policy")
    assert router.model.config.families == FAMILIES
    decisions = [split_action(router(Observation("Describe a volcano.", "Describe a volcano.", s, 3, index=i)))
                 for i in range(20) for s in range(3)]
    assert any(op == "add_constraints" for op, _ in decisions)
    assert all((family in FAMILIES) if op == "add_constraints" else family is None for op, family in decisions)


def test_the_routers_family_reaches_the_graph(make_context):
    router = PolicyRouter(preferring_add_constraints(family="startend"), greedy=True)
    assert router(Observation("Hi there.", "Hi there.", 0, 1)) == "add_constraints:startend"
    ctx = make_context(router=router, max_steps=1, answer_samples=1)
    topics = ["tides", "volcanoes", "rainbows", "vaccines", "bridges", "batteries", "magnets", "clouds",
              "lungs", "rivers", "engines", "markets", "glaciers", "comets", "bees", "lasers"]
    seeds = [{"seed": f"Explain how {x} work.", "index": i} for i, x in enumerate(topics)]
    outs = build_graph().batch(seeds, config={"max_concurrency": 1}, context=ctx)
    assert all(o["path"][0]["family"] == "startend" for o in outs)
    unasked = make_context(router=PolicyRouter(preferring_add_constraints(families=()), greedy=True), max_steps=1,
                           answer_samples=1)
    plain = build_graph().batch(seeds, config={"max_concurrency": 1}, context=unasked)
    assert all(o["path"][0]["family"] is None for o in plain)
    startend = [sum(family_of(o["path"][0]["constraint"]["id"]) == "startend" for o in run) for run in (outs, plain)]
    assert startend[0] > startend[1], startend  # the same seeded draws, the family preferred above the floor


def test_by_default_the_learned_router_keeps_its_operation_and_leaves_the_type_to_the_draw(tmp_path):
    save_policy(preferring_add_constraints(family="startend"), tmp_path / "p.safetensors")
    obs = [Observation("Describe a volcano.", "Describe a volcano.", 0, 3, index=i) for i in range(12)]
    named = [make_router("policy", policy=str(tmp_path / "p"), routing="greedy", families="policy")(o) for o in obs]
    drawn = [make_router("policy", policy=str(tmp_path / "p"), routing="greedy")(o) for o in obs]  # the default
    assert set(named) == {"add_constraints:startend"} and set(drawn) == {"add_constraints"}


def test_the_families_setting_reaches_the_router_and_a_bad_one_is_refused():
    from teamsrl_graph.common.errors import InputError
    from teamsrl_graph.evolve.context import Context
    from teamsrl_graph.evolve.resources import Resources

    router = Resources.build(Context(router="policy")).router
    assert isinstance(router, PolicyRouter) and router.families is False  # the type draw picks, by default
    assert Resources.build(Context(router="policy", families="policy")).router.families is True
    with pytest.raises(InputError, match="families"):
        Context(families="head")
    with pytest.raises(InputError, match="families"):
        make_router("policy", families="head")


def test_asking_a_policy_without_a_family_head_for_families_warns(tmp_path, caplog):
    save_policy(preferring_add_constraints(families=()), tmp_path / "p.safetensors")
    with caplog.at_level("WARNING", logger="teamsrl.policy"):
        router = make_router("policy", policy=str(tmp_path / "p"), routing="greedy", families="policy")
        make_router("policy", policy=str(tmp_path / "p"), routing="greedy")  # the default asks for none: no warning
    assert [r.getMessage() for r in caplog.records].count(
        "this policy has no family head (trained with the type draw): it names no constraint family, and the run's type "
        "draw picks every constraint type") == 1
    assert router(Observation("Write a haiku.", "Write a haiku.", 0, 3)) == "add_constraints"
