"""The executor: runs a Plan through the engine, step by step, with health gates and rollback.

It never re-decides: the plan says what to do to which app; this module only knows how to do it
safely. The recreate keeps at most one container of an app running on its volumes at any time.
Apps run side by side, up to `Options.parallel`, in the order act/schedule.py allows; one app's
steps all run on one thread, in order, and the journal takes one write at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from orchestrate import labels as L
from orchestrate.act import fault, schedule
from orchestrate.act.copy import HELPER_IMAGE, Step, check_space, copy_and_verify
from orchestrate.act.health import HealthGate, wait_healthy
from orchestrate.act.recover import resolve
from orchestrate.act.report import Options, Outcome, Report, Reporter
from orchestrate.backends import Fleet
from orchestrate.decide.compare import mount_diffs
from orchestrate.decide.plan import AppAction, Kind, Plan, uncovered_volumes_problem
from orchestrate.decide.recovery import HEALTH_PASSED
from orchestrate.errors import ApplyFailed, ExitCode, StatefulError, TransientEngineError
from orchestrate.model.desired import DesiredApp
from orchestrate.state import JournalEntry, Operation


def _quiet(app: str, step: str, seconds: float | None) -> None:
    return None


class Journal(Protocol):
    """Where recreate steps are written before they run (the state store; tests may omit it)."""

    def begin_operation(self, run_id: int, app: str, kind: str, old_id: str | None) -> int: ...

    def set_new_container(self, operation_id: int, new_id: str) -> None: ...

    def journal(self, operation_id: int, step: str) -> None: ...

    def close_operation(self, operation_id: int, state: str) -> None: ...

    def begin_copy(self, app: str, key: str, target: str) -> None: ...

    def end_copy(self, app: str, key: str, target: str) -> None: ...

    def retire(self, app: str, key: str, kind: str, source: str) -> None: ...


class SerialJournal:
    """The journal for apps running side by side: one write at a time, in the calling thread's order."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._lock = threading.Lock()

    def begin_operation(self, run_id: int, app: str, kind: str, old_id: str | None) -> int:
        with self._lock:
            return self._journal.begin_operation(run_id, app, kind, old_id)

    def set_new_container(self, operation_id: int, new_id: str) -> None:
        with self._lock:
            self._journal.set_new_container(operation_id, new_id)

    def journal(self, operation_id: int, step: str) -> None:
        with self._lock:
            self._journal.journal(operation_id, step)

    def close_operation(self, operation_id: int, state: str) -> None:
        with self._lock:
            self._journal.close_operation(operation_id, state)

    def begin_copy(self, app: str, key: str, target: str) -> None:
        with self._lock:
            self._journal.begin_copy(app, key, target)

    def end_copy(self, app: str, key: str, target: str) -> None:
        with self._lock:
            self._journal.end_copy(app, key, target)

    def retire(self, app: str, key: str, kind: str, source: str) -> None:
        with self._lock:
            self._journal.retire(app, key, kind, source)


def _serialised(report: Reporter) -> Reporter:
    """Whole lines from apps running side by side, never interleaved."""
    lock = threading.Lock()

    def locked(app: str, step: str, seconds: float | None) -> None:
        with lock:
            report(app, step, seconds)

    return locked


class JournaledOperation:
    """One recreate in flight: its steps, written to the journal before each runs."""

    def __init__(self, executor: Executor, app: str, *, old_id: str) -> None:
        self.executor = executor
        self.app = app
        self.old_id = old_id
        self.new_id = ""
        self.steps: list[JournalEntry] = []
        journal = executor.journal
        self.id = journal.begin_operation(executor.run_id, app, "recreate", old_id) if journal else 0

    def journal_step(self, step: str) -> None:
        self.steps.append(JournalEntry(step, time.time()))
        if self.executor.journal:
            self.executor.journal.journal(self.id, step)

    def record_new(self, new_id: str) -> None:
        if self.executor.journal:
            self.executor.journal.set_new_container(self.id, new_id)

    @contextmanager
    def step(self, step: str, description: str) -> Iterator[None]:
        self.journal_step(step)
        with self.executor._step(self.app, description):
            yield
        fault.after(step)

    def operation(self) -> Operation:
        return Operation(self.id, self.app, "recreate", self.old_id, self.new_id or None, tuple(self.steps))

    def close(self, outcome: str) -> None:
        if self.executor.journal:
            self.executor.journal.close_operation(self.id, outcome)


class Executor:
    def __init__(
        self,
        fleet: Fleet,
        *,
        report: Reporter = _quiet,
        options: Options | None = None,
        journal: Journal | None = None,
        run_id: int = 0,
    ) -> None:
        self.fleet = fleet
        self.engine = fleet.engine
        self.report = _serialised(report)
        self.options = options or Options()
        # Apps run on several threads: one journal write at a time, each committed before its step.
        self.journal = SerialJournal(journal) if journal is not None else None
        self.run_id = run_id

    def run(self, plan: Plan, desired: list[DesiredApp], *, should_stop: Callable[[], bool] = lambda: False) -> Report:
        """Run every action, up to `options.parallel` apps at once, each after what it waits for
        (schedule.waits_for). `should_stop` is asked before each app starts (never inside one)."""
        apps = {a.name: a for a in desired}
        outcomes: dict[int, Outcome] = {}
        failed: set[str] = set()
        guard = threading.Lock()

        def work(index: int) -> None:
            action = plan.actions[index]
            app = apps[action.app]
            with guard:
                waiting_on = [d for d in app.depends_on if d in failed]
            if waiting_on:
                message = f"skipped: depends on {', '.join(waiting_on)}, which failed"
                outcome = Outcome(app.name, action.kind, False, message, ExitCode.APPLY_FAILED)
            else:
                outcome = self._run_action(action, app, apps)
            with guard:
                outcomes[index] = outcome
                if not outcome.ok:
                    failed.add(app.name)

        order = schedule.waits_for(plan.actions, apps)
        stopped = schedule.run_ordered(order, work, workers=max(1, self.options.parallel), should_stop=should_stop)
        return Report([outcomes[i] for i in sorted(outcomes)], stopped=stopped)

    def _run_action(self, action: AppAction, app: DesiredApp, apps: dict[str, DesiredApp]) -> Outcome:
        started = time.monotonic()
        if action.kind is Kind.BLOCKED:
            assert action.problem is not None
            return Outcome(app.name, action.kind, False, action.problem.message, action.problem.exit_code)
        if action.kind is Kind.DEFERRED:
            return Outcome(app.name, action.kind, True, action.notes[-1])
        acted = action.changes or bool(action.pull or action.migrations)
        try:
            self._prepare(action, app)
            if action.kind is not Kind.NOOP:
                self._wait_dependencies(app, apps)
            self._apply(action, app)
        except StatefulError as exc:
            return Outcome(app.name, action.kind, False, str(exc), exc.exit_code, time.monotonic() - started, acted)
        return Outcome(app.name, action.kind, True, seconds=time.monotonic() - started, acted=acted)

    @contextmanager
    def _step(self, app: str, what: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.report(app, what, time.monotonic() - started)

    def _prepare(self, action: AppAction, app: DesiredApp) -> None:
        """Network, volumes, host dirs and image: everything before any container is touched."""
        for network in action.create_networks:
            with self._step(action.app, f"create network {network}"):
                self.engine.create_network(network)
        for volume in action.create_volumes:
            with self._step(action.app, f"create volume {volume.name}"):
                self.engine.create_volume(volume)
        for bind in action.create_dirs:
            with self._step(action.app, f"create directory {bind.path}"):
                self.fleet.files(app.host).create_dir(bind)
        if action.pull:
            with self._step(action.app, f"pull {action.pull}"):
                self._pull(action.pull)

    def _pull(self, ref: str) -> None:
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(TransientEngineError),
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=self.options.pull_backoff, max=10),
                reraise=True,
            ):
                with attempt:
                    self.engine.pull(ref)
        except StatefulError as exc:
            raise ApplyFailed(f"image {ref} could not be pulled; nothing was stopped: {exc}") from None

    def _wait_dependencies(self, app: DesiredApp, apps: dict[str, DesiredApp]) -> None:
        for dep in app.depends_on:
            container = self.engine.inspect_container(dep)
            if container is None:
                raise ApplyFailed(f"depends on {dep}, which has no container")
            with self._step(app.name, f"wait for {dep}"):
                self._gate(apps[dep], container.id, container.name)

    def _apply(self, action: AppAction, app: DesiredApp) -> None:
        if action.kind in (Kind.CREATE, Kind.RECREATE):
            self._check_image_volumes(app)
        if action.migrations:
            self._before_migrations(action, app)
        if action.kind is Kind.CREATE:
            self._create(action, app)
        elif action.kind is Kind.RECREATE:
            self._recreate(action, app)
        elif action.kind is Kind.UPDATE:
            self._update(action, app)
        elif action.kind is Kind.START:
            self._start(action, app)

    def _check_image_volumes(self, app: DesiredApp) -> None:
        image = self.engine.inspect_image(app.image)
        if image is None:
            raise ApplyFailed(f"image {app.image} is not present")
        if problem := uncovered_volumes_problem(app, image):
            raise ApplyFailed(problem.message, exit_code=problem.exit_code)

    def _labels(self, app: DesiredApp, generation: int) -> dict[str, str]:
        labels = L.container_labels(
            app=app.name, spec_hash=app.spec_hash, spec_file=app.spec_file, generation=generation, state_dir=self.options.state_dir
        )
        if app.secrets_hash:
            labels[L.SECRETS_HASH] = app.secrets_hash
        return labels

    def _before_migrations(self, action: AppAction, app: DesiredApp) -> None:
        """Space and the helper image are checked before anything is stopped."""
        for migration in action.migrations:
            check_space(self.fleet.files(app.host), migration)
        if self.engine.inspect_image(HELPER_IMAGE) is None:
            with self._step(app.name, f"pull {HELPER_IMAGE} (copy helper)"):
                self._pull(HELPER_IMAGE)

    def _migrate(self, action: AppAction, step: Step) -> None:
        for migration in action.migrations:
            if self.journal:
                self.journal.begin_copy(migration.app, migration.key, migration.target)
            verdict = copy_and_verify(self.engine, migration, step=step)
            self.report(migration.app, f"{migration.key}: {verdict}", None)

    def _migrated(self, action: AppAction) -> None:
        """The app is healthy on the new places: the copies are done, the old places retired (kept)."""
        for migration in action.migrations:
            if self.journal:
                self.journal.end_copy(migration.app, migration.key, migration.target)
                self.journal.retire(migration.app, migration.key, migration.source_kind, migration.source)
            self.report(migration.app, f"{migration.key}: old copy kept at {migration.source} (retired; see `stateful volumes`)", None)

    @contextmanager
    def _fault_step(self, app: str, step: str, description: str) -> Iterator[None]:
        with self._step(app, description):
            yield
        fault.after(step)

    def _create(self, action: AppAction, app: DesiredApp) -> None:
        if action.migrations:
            self._migrate(action, lambda step, description: self._fault_step(app.name, step, description))
        with self._step(app.name, "create container"):
            container_id = self.engine.create_container(app, name=app.name, labels=self._labels(app, action.generation))
        with self._step(app.name, "start"):
            self.engine.start(container_id)
        self._verify_and_gate(app, container_id, app.name)
        self._migrated(action)

    def _start(self, action: AppAction, app: DesiredApp) -> None:
        assert action.container_id is not None
        with self._step(app.name, "start"):
            self.engine.start(action.container_id)
        self._verify_and_gate(app, action.container_id, app.name)

    def _update(self, action: AppAction, app: DesiredApp) -> None:
        assert action.container_id is not None
        with self._step(app.name, f"update restart policy to {app.restart}"):
            self.engine.update_restart(action.container_id, policy=app.restart, retries=app.restart_retries)
        if action.start:
            self._start(action, app)

    def _recreate(self, action: AppAction, app: DesiredApp) -> None:
        """Create new (not started), stop old, old steps aside, new takes its place, start new,
        health gate, remove old: the backend's replace strategy does the swapping, this orders it.

        Every step is journaled before it runs (the step names are the journal's, kept from the
        Docker strategy's renames so that old journals resolve); on any failure the same
        fact-based resolution that a later run would use rolls back to the old container.
        """
        assert action.container_id is not None
        swap = self.engine.replace
        op = JournaledOperation(self, app.name, old_id=action.container_id)
        try:
            with op.step("create-new", "create new container (not started)"):
                op.new_id = swap.create_new(app, labels=self._labels(app, action.generation))
                op.record_new(op.new_id)
            with op.step("stop-old", f"stop old container (grace {app.stop_grace_seconds}s)"):
                self.engine.stop(op.old_id, timeout=app.stop_grace_seconds)
            self._migrate(action, op.step)
            with op.step("rename-old", "rename old container"):
                swap.step_aside(app.name, op.old_id)
            with op.step("rename-new", "rename new container"):
                swap.take_place(app.name, op.new_id)
            with op.step("start-new", "start new container"):
                self.engine.start(op.new_id)
            with op.step("health-gate", "healthy"):
                self._verify_and_gate(app, op.new_id, app.name, report=False)
                op.journal_step(HEALTH_PASSED)
            with op.step("remove-old", "remove old container"):
                self.engine.remove_container(op.old_id)
        except StatefulError as exc:
            resolution = resolve(self.engine, op.operation(), journal=op.journal_step, say=self._say)
            op.close(resolution.outcome)
            if resolution.outcome == "rolled-back":
                raise ApplyFailed(f"the new container failed: {exc}\n{self._gate_after_rollback(app, op.old_id)}") from None
            raise
        op.close("finished")
        self._migrated(action)

    def _say(self, app: str, what: str) -> None:
        self.report(app, what, None)

    def _gate_after_rollback(self, app: DesiredApp, old_id: str) -> str:
        """A rollback is a start like any other: what it says depends on the old container's gate."""
        try:
            with self._step(app.name, "rollback: old container healthy"):
                self._gate(app, old_id, app.name)
        except StatefulError as exc:
            return f"rolled back, but the previous container is not healthy either: {exc}\n{app.name} is DOWN"
        return "rolled back: the previous container runs again, healthy, on the same volumes"

    def _verify_and_gate(self, app: DesiredApp, container_id: str, name: str, *, report: bool = True) -> None:
        container = self.engine.inspect_container(container_id)
        if container is None:
            raise ApplyFailed(f"container {name} vanished after start")
        wrong = mount_diffs(app.mounts, container.mounts)
        if wrong:
            # Never let an app run on other volumes than planned (Docker adding an anonymous one).
            details = "; ".join(f"{d.field}: {d.old} (expected {d.new})" for d in wrong)
            raise ApplyFailed(f"mounts differ from the plan: {details}")
        if not report:
            self._gate(app, container_id, name)
            return
        with self._step(app.name, "healthy"):
            self._gate(app, container_id, name)

    def _gate(self, app: DesiredApp, container_id: str, name: str) -> None:
        container = self.engine.inspect_container(container_id)
        if container is None:
            raise ApplyFailed(f"container {name} vanished")
        gate = HealthGate.for_container(container, timeout=self.options.health_timeout, settle=self.options.settle_seconds)
        verdict = wait_healthy(self.engine, container_id, gate, probe=True)
        if not verdict.ok:
            logs = self.engine.logs_tail(container_id, 15)
            tail = "\n".join(f"    | {line}" for line in logs.splitlines()) if logs else ""
            raise ApplyFailed(f"{name} {verdict.reason}" + (f"\n  last log lines:\n{tail}" if tail else ""))
