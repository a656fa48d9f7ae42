"""Reads side by side on a few threads: the engine answers inspects concurrently.

A small pool of plain threads rather than concurrent.futures, whose import (with logging) costs
more start-up than the pool saves on a small no-op run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

Item = TypeVar("Item")
Result = TypeVar("Result")

WORKERS = 8


def in_parallel(work: Callable[[Item], Result], items: Sequence[Item], *, workers: int = WORKERS) -> list[Result]:
    """work(item) for every item, on up to `workers` threads; results in the items' order.

    The first exception raised by any call is raised here, after every thread has stopped; the
    threads take no new item once one has failed.
    """
    if len(items) <= 1:
        return [work(item) for item in items]
    results: list[Result | None] = [None] * len(items)
    failures: list[BaseException] = []
    pending = iter(range(len(items)))
    lock = threading.Lock()

    def worker() -> None:
        while not failures:
            with lock:
                index = next(pending, None)
            if index is None:
                return
            try:
                results[index] = work(items[index])
            except BaseException as exc:  # re-raised in the caller's thread below
                failures.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(workers, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return cast(list[Result], results)  # every index was filled, as nothing failed
