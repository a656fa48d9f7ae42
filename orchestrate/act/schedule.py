"""Running a plan's actions side by side, bounded, in an order that keeps what must come first first.

Two parts: which earlier actions each action must wait for (`waits_for`: what it depends on, the
app that creates the network it joins, the apps before it on the same data), and a runner that
starts at most N actions at once, each only after everything it waits for has finished.

It must not decide what an action does, nor touch the engine or the journal: the executor does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from orchestrate.decide.plan import AppAction
from orchestrate.model.desired import DesiredApp


def waits_for(actions: Sequence[AppAction], apps: Mapping[str, DesiredApp]) -> list[frozenset[int]]:
    """For each action (by index), the earlier actions it must not start before.

    The plan lists apps in dependency order, so every edge points back: the order can never
    deadlock, and with one worker it is exactly the plan's order.
    """
    index = {action.app: i for i, action in enumerate(actions)}
    network_creator: dict[tuple[str, str], int] = {}
    last_on_data: dict[tuple[str, str, str], int] = {}
    result: list[frozenset[int]] = []
    for i, action in enumerate(actions):
        app = apps[action.app]
        waits = {index[dep] for dep in app.depends_on if dep in index and index[dep] < i}
        for network in action.create_networks:
            network_creator.setdefault((app.host, network), i)
        for network, _ in app.networks:
            creator = network_creator.get((app.host, network))
            if creator is not None and creator != i:
                waits.add(creator)  # created once, by the first app that needs it
        for mount in app.mounts:
            if not mount.holds_data:
                continue
            # Apps on the same data (a shared volume, volumes_from) go one after another, in plan
            # order: one of them creates the volume, and never two of them change at once.
            place = (app.host, mount.kind, mount.source)
            if place in last_on_data and last_on_data[place] != i:
                waits.add(last_on_data[place])
            last_on_data[place] = i
        result.append(frozenset(waits))
    return result


def run_ordered(
    waits: Sequence[frozenset[int]], work: Callable[[int], None], *, workers: int, should_stop: Callable[[], bool]
) -> bool:
    """work(i) for every index, at most `workers` at once, each after all of waits[i] finished.

    The lowest ready index goes first. `should_stop` is asked before each start; once it says
    yes no new work starts, the running work finishes, and this returns True. An exception from
    work is raised here after the running work has finished (none starts after it).
    """
    count = len(waits)
    started: set[int] = set()
    done: set[int] = set()
    failures: list[BaseException] = []
    halted = False
    changed = threading.Condition()

    def take() -> int | None:
        """The next index to run, waiting for one to become ready; None when there is no more."""
        nonlocal halted
        with changed:
            while not (halted or failures) and len(started) < count:
                ready = next((i for i in range(count) if i not in started and waits[i] <= done), None)
                if ready is None:
                    changed.wait()
                    continue
                if should_stop():
                    halted = True
                    changed.notify_all()
                    return None
                started.add(ready)
                return ready
            return None

    def worker() -> None:
        while (index := take()) is not None:
            try:
                work(index)
            except BaseException as exc:  # re-raised in the caller's thread below
                failures.append(exc)
            finally:
                with changed:
                    done.add(index)
                    changed.notify_all()

    threads = [threading.Thread(target=worker, name=f"apply-{n}") for n in range(min(workers, count) - 1)]
    for thread in threads:
        thread.start()
    try:
        worker()  # the caller's thread is one of the workers: with one, nothing runs on another thread
    except BaseException as exc:  # interrupted while waiting: the others finish the app in hand
        with changed:
            failures.append(exc)
            changed.notify_all()
    finally:
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return halted
