"""Running one function over many items on a pool of threads, with a progress bar: what improving
answers and collecting preference pairs share. It neither retries nor books anything."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def each(work, count: int, concurrency: int, desc: str, unit: str, progress: bool = True) -> None:
    """`work(i)` for i in range(count), at most `concurrency` at once; the first error is raised once
    the calls in flight end. With `progress`, a tqdm bar counts the finished calls."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=count, unit=unit, desc=desc)

    def one(i: int):
        work(i)
        if bar:
            bar.update(1)

    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix=unit) as pool:
            list(pool.map(one, range(count)))
    finally:
        if bar:
            bar.close()
