"""`reconcile --watch`: a long-running loop that reconciles every interval, and within seconds of
a managed container dying, stopping or being removed.

Level-triggered: events only wake the loop early; each round observes and plans from scratch, so
a lost event costs at most one interval. It survives the engine going away (rounds fail with a
message, the event stream reconnects with backoff) and ends cleanly on SIGTERM/SIGINT: the
current action finishes, the lock is released, exit 0.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from tenacity import Retrying, retry_if_exception_type, wait_exponential

from orchestrate import labels as L
from orchestrate.backends import Engine, EventStream
from orchestrate.errors import StatefulError

WAKING_ACTIONS = ("die", "destroy", "stop", "kill", "oom", "health_status")
DEBOUNCE_S = 0.5  # gather the burst of events one `docker rm -f` makes
POLL_S = 0.5  # how often the sleeping loop looks at the stop flag


class Watcher:
    def __init__(
        self,
        *,
        connect: Callable[[], Engine],
        run_round: Callable[[Callable[[], bool]], None],
        interval: float,
        say: Callable[[str], None],
        relevant: Callable[[str], bool] = lambda app: True,
    ) -> None:
        self.connect = connect
        self.relevant = relevant
        self.run_round = run_round
        self.interval = interval
        self.say = say
        self.wake: queue.Queue[str] = queue.Queue()
        self.stopping = threading.Event()
        self.stop_reason = ""
        self._stream: EventStream | None = None

    def loop(self) -> None:
        self._handle_signals()
        threading.Thread(target=self._listen, name="engine-events", daemon=True).start()
        while not self.stopping.is_set():
            self._round()
            self._drain()  # events from our own round: that round already saw their effects
            self._sleep()
        self.say(f"{self.stop_reason}: stopped after the current action; the lock is released")

    def _round(self) -> None:
        try:
            self.run_round(self.stopping.is_set)
        except StatefulError as exc:  # engine away, lock busy, a spec broken meanwhile: say, go on
            self.say(f"round failed (exit {int(exc.exit_code)}): {exc}")

    def _sleep(self) -> None:
        """Until the interval is over, an event arrives, or we are asked to stop."""
        deadline = time.monotonic() + self.interval
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                # Short waits: the signal handler only sets a flag (touching the queue from a
                # handler could deadlock on the queue's own lock), so the flag is polled.
                reason = self.wake.get(timeout=min(POLL_S, left))
            except queue.Empty:
                continue
            time.sleep(DEBOUNCE_S)
            self._drain()
            self.say(f"woken by {reason}")
            return

    def _drain(self) -> None:
        while not self.wake.empty():
            self.wake.get_nowait()

    def _listen(self) -> None:
        """Follow the engine's events for our containers; reconnect with backoff when it goes."""
        for attempt in Retrying(retry=retry_if_exception_type(StatefulError), wait=wait_exponential(multiplier=0.5, max=30)):
            with attempt:
                if self.stopping.is_set():
                    return
                self._follow()
                if not self.stopping.is_set():
                    raise _StreamEnded("the engine closed the event stream")

    def _follow(self) -> None:
        self._stream = self.connect().stream_events(label=f"{L.MANAGED}=true", actions=WAKING_ACTIONS)
        for event in self._stream:
            if self.stopping.is_set():
                return
            app = event.labels.get(L.APP, event.name)
            if self.relevant(app):
                self.wake.put(f"{event.action.split(':')[0]} of {app}")

    def _handle_signals(self) -> None:
        # Only flags here: printing from a signal handler can re-enter a half-done write.
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stop_reason = signal.Signals(signum).name
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


class _StreamEnded(StatefulError):
    pass
