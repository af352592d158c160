"""`generate` on a Ray cluster: seeds are dealt out to Ray workers, their records come back to this
process (the driver), which writes the one run folder exactly as a run in one process does
(rundir.py: dataset.jsonl appended record by record, ledger.json, run.json, report.json), resume
and signals included.

Each worker (worker.py) has its own models: its own copy of a local model, or its own
OpenAI-compatible endpoint (`base_urls`: one worker per URL). All of them reserve and book every
call in one run-wide ledger, a Ray actor holding the run's `Budget` (ledger.py), so the query and
token caps hold across workers. A worker is given the next seed whenever it has fewer than
`concurrency` in flight, and no seed starts once the ledger cannot fund its answer.

What it does not do: copy files to the cluster (seeds are read here, but model folders, prompt,
policy and PIT folders must exist at the same paths on every node that runs a worker), or run over a
Ray Client (`ray://`) connection: the ledger actor saves ledger.json on the driver's own node.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from ..running.budget import Budget
from ..evolve.context import Context
from ..common.errors import InputError, SetupError, TeamsrlError
from ..running.rundir import RunDir, public_url
from ..running.run import Progress, _Signals, conclude, deal, run_inputs, still_to_do
from .ledger import LedgerKeeper, RemoteBudget
from .worker import SeedWorker

log = logging.getLogger("teamsrl.generate")
INSTALL = "pip install 'teamsrl-graph[ray]'"


def need_ray():
    """The `ray` module, or a SetupError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SetupError(f"running on Ray needs the ray package, which is not installed: {INSTALL}") from None
    return ray


def connect(ray, address: str | None) -> bool:
    """Join the Ray cluster at `address` ("auto": the one `ray start` runs on this machine; None: that one
    or RAY_ADDRESS if there is one, else a new Ray instance on this machine). True if this call started
    Ray, so the run must stop it (or leave the cluster); an already initialized Ray is used as it is."""
    if address and address.startswith("ray://"):
        raise InputError("Ray Client addresses (ray://) are not supported; run on a node of the cluster with "
                         "--ray auto or --ray HOST:PORT", field="--ray")
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address or None)
    except ConnectionError as error:
        raise InputError(f"cannot join the Ray cluster at {address!r} ({error}); is it running? A cluster with token "
                         "authentication (`ray start` turns it on) also needs RAY_AUTH_MODE=token here", field="--ray") from None
    return True


def _result(future):
    """A Ray task's result; an error the user can act on (bad settings, a refused key) is raised as it is,
    not wrapped in Ray's task error."""
    try:
        return future.result()
    except Exception as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, TeamsrlError):
            raise cause from None
        raise


def generate_on_ray(
    seeds=None,
    *,
    out: str | Path | None = None,
    context: Context | dict | None = None,
    address: str | None = None,
    workers: int | None = None,
    base_urls: list[str] | None = None,
    concurrency: int = 16,
    cpus_per_worker: float = 1.0,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    config: dict | None = None,
) -> list[dict]:
    """`run.generate` with the seeds spread over `workers` Ray workers (default: one per URL of
    `base_urls`, else 2) on the cluster at `address` (see `connect`). Worker k talks to `base_urls[k]`
    when given (else to the context's `base_url`), with `concurrency` seeds in flight each, and takes
    `cpus_per_worker` CPUs of the cluster. Workers build their models from the context's settings
    (resources bound to `context` in this process are not sent to them). `config` (tags, metadata) is
    sent with every seed, so it must pickle. Returns the records of the run, as `generate` does, and
    writes the same files; report.json gets a `ray` block (workers, endpoints, records per worker)."""
    ray = need_ray()
    seeds, context = run_inputs(seeds, context, concurrency, config)
    urls = list(base_urls or [])
    count = workers if workers is not None else (len(urls) or 2)
    if count < 1 or (urls and count != len(urls)):
        raise InputError(f"{count} workers for {len(urls)} endpoints: give one endpoint per worker", field="--workers")
    started_ray = connect(ray, address)
    try:
        return _run(ray, seeds, context, urls or [context.base_url] * count, cpus_per_worker, concurrency, out,
                    overwrite=overwrite, resume=resume, progress=progress, config=config)
    finally:
        if started_ray:
            ray.shutdown()


def _run(ray, seeds, context: Context, urls: list, cpus_per_worker: float, concurrency: int, out, *, overwrite,
         resume, progress, config) -> list[dict]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    cpus = ray.cluster_resources().get("CPU", 0)
    if cpus < len(urls) * cpus_per_worker:
        raise InputError(f"{len(urls)} workers of {cpus_per_worker:g} CPUs need {len(urls) * cpus_per_worker:g} CPUs; "
                         f"the Ray cluster has {cpus:g}", field="--workers")
    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    keeper = ray.remote(LedgerKeeper).options(num_cpus=0, scheduling_strategy=here).remote()
    pool = [ray.remote(SeedWorker).options(num_cpus=cpus_per_worker, max_concurrency=concurrency).remote()
            for _ in urls]
    try:
        settings = context.settings()
        starts = [w.start.remote({**settings, "base_url": url}, keeper) for w, url in zip(pool, urls)]
        for ref in starts:  # bad settings and missing weights stop the run before anything is written
            _result(ref.future())
        folder, records, saved = (RunDir(out) if out is not None else None), [], None
        if folder:
            records, saved = folder.prepare(settings, resume=resume, overwrite=overwrite)
        if saved:  # the cap spans the whole run: go on counting from the earlier attempts, under today's caps
            saved.max_queries, saved.max_tokens = context.budget, context.token_budget
        ledger = saved or Budget(context.budget, context.token_budget)
        _result(keeper.open.remote(ledger.state(), str(folder.out) if folder else None).future())
        return _deal(ray, seeds, records, context, folder, pool, keeper, concurrency, progress, config,
                     [public_url(url) for url in urls])
    finally:
        for actor in (*pool, keeper):
            ray.kill(actor)


def _deal(ray, seeds, records, context, folder, pool, keeper, concurrency, progress, config, endpoints) -> list[dict]:
    """Deal the seeds still to do out to the workers, keep their records as they come back, write the report."""
    todo = still_to_do(seeds, records)
    bar = Progress(RemoteBudget(keeper), len(todo)) if progress else None
    busy, worker_of, by_worker = [0] * len(pool), {}, Counter()  # seeds in flight per worker; future -> worker

    def start(index, seed):
        k = busy.index(min(busy))
        future = pool[k].evolve.remote(index, seed, config).future()
        worker_of[future], busy[k] = k, busy[k] + 1
        return future

    def finish(future):
        k = worker_of.pop(future)
        busy[k] -= 1
        record = _result(future)
        by_worker[k] += record.get("status") != "skipped_budget"
        return record

    started = time.monotonic()
    dataset = folder.open_dataset() if folder else None
    try:
        with _Signals() as signals:
            skipped = deal(todo, start, finish, lambda _: min(busy) < concurrency,
                           lambda: ray.get(keeper.can_fund_a_seed.remote()), signals, records, dataset, bar)
    finally:
        if bar:
            bar.close()
        if dataset:
            dataset.close()
    ledger = Budget.from_state(ray.get(keeper.call.remote("state")))
    ray_block = {"workers": len(pool), "endpoints": endpoints, "records_by_worker": [by_worker[k] for k in range(len(pool))]}
    conclude(records, ledger, context, started, skipped, signals, folder, extra={"ray": ray_block})
    return records
