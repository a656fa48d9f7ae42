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
from orchestrate.engine import Engine, EventStream
from orchestrate.errors import StatefulError

WAKING_ACTIONS = ("die", "destroy", "stop", "kill", "oom", "health_status")
DEBOUNCE_S = 0.5  # gather the burst of events one `docker rm -f` makes


class Watcher:
    def __init__(
        self,
        *,
        connect: Callable[[], Engine],
        run_round: Callable[[Callable[[], bool]], None],
        interval: float,
        say: Callable[[str], None],
    ) -> None:
        self.connect = connect
        self.run_round = run_round
        self.interval = interval
        self.say = say
        self.wake: queue.Queue[str] = queue.Queue()
        self.stopping = threading.Event()
        self._stream: EventStream | None = None

    def loop(self) -> None:
        self._handle_signals()
        threading.Thread(target=self._listen, name="engine-events", daemon=True).start()
        while not self.stopping.is_set():
            self._round()
            self._drain()  # events from our own round: that round already saw their effects
            self._sleep()
        self.say("stopped")

    def _round(self) -> None:
        try:
            self.run_round(self.stopping.is_set)
        except StatefulError as exc:  # engine away, lock busy, a spec broken meanwhile: say, go on
            self.say(f"round failed (exit {int(exc.exit_code)}): {exc}")

    def _sleep(self) -> None:
        try:
            reason = self.wake.get(timeout=self.interval)
        except queue.Empty:
            return
        if reason == "stop":
            return
        time.sleep(DEBOUNCE_S)
        self._drain()
        self.say(f"woken by {reason}")

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
            self.wake.put(f"{event.action.split(':')[0]} of {app}")

    def _handle_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.say(f"{signal.Signals(signum).name}: finishing the current action, then stopping")
            self.stopping.set()
            self.wake.put("stop")
            if self._stream is not None:
                self._stream.close()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


class _StreamEnded(StatefulError):
    pass
