"""Why a brain must stop what it is doing: it lost its lease (fenced), or the user interrupted."""
from __future__ import annotations

import threading
from typing import Callable, List


class StopSignal:
    """Two flags and the callbacks that cut a blocking call short when either is raised.

    ``fenced`` is final: another brain owns the session. ``interrupted`` is cleared when new
    input supersedes the interrupt (HARN-9)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: List[Callable[[], None]] = []
        self.fenced = False
        self.interrupted = False

    @property
    def stopped(self) -> bool:
        return self.fenced or self.interrupted

    def fence(self) -> None:
        self._raise("fenced")

    def interrupt(self) -> None:
        self._raise("interrupted")

    def clear_interrupt(self) -> None:
        with self._lock:
            self.interrupted = False

    def on_stop(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Runs ``callback`` when the signal is raised (at once if it is); returns an unregister function."""
        with self._lock:
            if not self.stopped:
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
        callback()
        return lambda: None

    def _remove(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _raise(self, which: str) -> None:
        with self._lock:
            setattr(self, which, True)
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - a callback that fails must not stop the others
                pass


class Fenced(Exception):
    """The brain's lease epoch is no longer live: it must write nothing more (HARN-2, HARN-17)."""


class Interrupted(Exception):
    """A user_interrupt stopped the model call or the tool (HARN-9)."""
