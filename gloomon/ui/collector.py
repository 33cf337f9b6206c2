"""When the dashboard's cycle collector runs: young objects as Python collects them, the older
generations right after a key has been drawn or in quiet moments.

Python collects its older generations when allocations say so, and a redraw is what allocates: a pass
over the middle generation (what survived ten young passes, with Textual's styles, caches and the virtual
nodes it styles component classes with: 20,000-40,000 objects of garbage at a time) took 100-220 ms, and
the oldest generation's walked everything alive, so they landed on the key being answered
(bench/ui_latency.py --cas 10000). Here neither starts by itself: once a key has been drawn (before the
next one, usually), or when no key came for :data:`QUIET_SECONDS`, the middle generation is collected if
a second has gone by (a second of survivors: 5-20 ms), the whole heap if :data:`FULL_SECONDS` have. So
garbage waits at most that long whatever the keys do. What is alive when the dashboard starts (modules,
classes, functions: most of the heap) is frozen out of every pass. The young threshold is raised: a
redraw makes tens of thousands of short-lived objects, and each young pass walks what is young.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

#: allocations between young passes while the dashboard runs (CPython's default is 700)
YOUNG_THRESHOLD = 5_000
#: no key for this long: a quiet moment
QUIET_SECONDS = 0.5
#: how long the middle generation, and the whole heap (all not frozen), wait between passes
MIDDLE_SECONDS, FULL_SECONDS = 1.0, 30.0
#: a threshold never reached: Python starts no pass of that generation by itself
_NEVER = 1 << 30


class Collector:
    """Owns the process's collector while the dashboard runs: :meth:`start`; :meth:`after_key` once each
    key is drawn and :meth:`tick` often (each collects what is due); :meth:`stop` restores what the
    process had."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._saved: tuple[int, int, int] | None = None
        self._middle = self._full = 0.0  # when the middle generation, and the whole heap, were collected

    def start(self) -> None:
        self._saved = gc.get_threshold()
        # What is alive now lives on: no pass walks it again. Only the young are collected first: a full
        # pass here cost each start 50 ms (and a test process, which starts hundreds, 18 s of 75); the
        # older garbage of the start (58 objects after gloomon's imports) stays frozen with it, once.
        gc.collect(0)
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, _NEVER, _NEVER)
        self._middle = self._full = self._clock()

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()

    def after_key(self) -> int | None:
        """A key has been drawn: collect what is due; the generation collected, if any."""
        if self._saved is None:
            return None
        now = self._clock()
        if now - self._full >= FULL_SECONDS:
            gc.collect(2)
            self._middle = self._full = now
            return 2
        if now - self._middle >= MIDDLE_SECONDS:
            gc.collect(1)
            self._middle = now
            return 1
        return None

    def tick(self, last_key: float) -> int | None:
        """Collect what is due if no key came since ``last_key`` (a monotonic time) for a while."""
        if self._clock() - last_key < QUIET_SECONDS:
            return None
        return self.after_key()
