"""Where a sweep's tasks run: in this process, in local worker processes, or on a Dask cluster.

Each task is ``fn(*shared, task)``; ``shared`` (the dataset and the scenario) goes to each worker
once — a process pool's initializer, Dask's broadcast scatter — not once per task. Results come
back as tasks finish (``on_done`` is told each one's index, for a progress bar) and are returned
in task order, so the executor never changes the numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any, Literal, TypeVar

from chokepoint.errors import ChokepointError

__all__ = ["EXECUTORS", "Executor", "run_tasks"]

Executor = Literal["inline", "processes", "dask"]
EXECUTORS: tuple[Executor, ...] = ("inline", "processes", "dask")

T = TypeVar("T")
_shared: tuple[Any, ...] = ()


def _set_shared(*shared: Any) -> None:
    global _shared
    _shared = shared


def _with_shared(fn: Callable[..., T], task: Any) -> T:
    return fn(*_shared, task)


def run_tasks(
    fn: Callable[..., T],
    shared: tuple[Any, ...],
    tasks: Sequence[Any],
    executor: Executor | None = None,
    workers: int = 1,
    cluster: str | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[T]:
    """``[fn(*shared, t) for t in tasks]`` on ``executor``: ``inline``; ``processes``, a pool of
    ``workers`` local processes; ``dask``, the scheduler at ``cluster`` (``tcp://host:port``) or
    else a :class:`dask.distributed.LocalCluster` of ``workers`` single-threaded processes.
    Without ``executor``: ``dask`` when ``workers`` > 1 or a ``cluster`` is given, else ``inline``."""
    done = on_done or (lambda i: None)
    executor = executor or ("dask" if workers > 1 or cluster else "inline")
    if executor == "inline":
        results = []
        for i, task in enumerate(tasks):
            results.append(fn(*shared, task))
            done(i)
        return results
    if executor == "processes":
        by_index: dict[int, T] = {}
        # spawn: a fresh interpreter per worker, not a fork of one holding threads and open files
        with ProcessPoolExecutor(workers, get_context("spawn"), _set_shared, shared) as pool:
            futures = {pool.submit(_with_shared, fn, task): i for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                by_index[futures[future]] = future.result()
                done(futures[future])
        return [by_index[i] for i in range(len(tasks))]
    if executor == "dask":
        return _run_dask(fn, shared, tasks, workers, cluster, done)
    raise ChokepointError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")


def _run_dask(
    fn: Callable[..., T],
    shared: tuple[Any, ...],
    tasks: Sequence[Any],
    workers: int,
    cluster: str | None,
    done: Callable[[int], None],
) -> list[T]:
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    def run(client: Client) -> list[T]:
        scattered = [client.scatter(item, broadcast=True) for item in shared]
        futures = [client.submit(fn, *scattered, task, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        by_index: dict[int, T] = {}
        for future in dask_completed(futures):
            by_index[index[future.key]] = future.result()
            done(index[future.key])
        return [by_index[i] for i in range(len(tasks))]

    if cluster is not None:
        try:
            client = Client(cluster, timeout=30)
        except OSError as exc:
            raise ChokepointError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None
        with client:
            return run(client)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # loopback only, and a free port for the scheduler's HTTP server: two sweeps at once
            # must not both claim 8787, and nothing listens beyond this machine
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,
    ):
        return run(client)
