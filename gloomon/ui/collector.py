"""When the dashboard's cycle collector runs: young objects as Python collects them, the older
generations in the quiet moments between keys.

Python collects its older generations when allocations say so, and a redraw is what allocates: a pass
over the middle generation (what survived ten young passes, with Textual's styles, caches and the virtual
nodes it styles component classes with: 20,000 objects of garbage now and then) took 100-220 ms, and the
oldest generation's walked everything alive, so they landed on the key being answered
(bench/ui_latency.py --cas 10000). Here the middle generation is collected once a key has been drawn
(before the next one, usually) or when no key came for :data:`QUIET_SECONDS`, each pass covering about a
second of survivors (5-20 ms); the whole heap only in quiet moments; and each at least every
:data:`FORCED_SECONDS` even while keys keep coming, so garbage is never kept longer than that. What is
alive when the dashboard starts (modules, classes, functions: most of the heap) is frozen out of every
pass. The young generation's threshold is raised: a redraw makes tens of thousands of short-lived
objects, and each young pass walks what is young.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

#: allocations between young passes while the dashboard runs (CPython's default is 700)
YOUNG_THRESHOLD = 5_000
#: no key for this long: the older generations may be collected
QUIET_SECONDS = 0.5
#: how often the middle generation is collected in quiet moments, and the whole heap (all not frozen)
MIDDLE_SECONDS, FULL_SECONDS = 1.0, 30.0
#: the longest either waits for a quiet moment: then it runs anyway (keys held down for that long)
FORCED_SECONDS = 10.0, 120.0
#: a threshold never reached: Python starts no pass of that generation by itself
_NEVER = 1 << 30


class Collector:
    """Owns the process's collector while the dashboard runs: :meth:`start`, :meth:`tick` often (it
    collects when due), :meth:`stop` restores what the process had."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._saved: tuple[int, int, int] | None = None
        self._last = [0.0, 0.0]  # when the middle generation, and the whole heap, were last collected

    def start(self) -> None:
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()  # what is alive now lives on: no pass walks it again
        gc.set_threshold(YOUNG_THRESHOLD, _NEVER, _NEVER)
        now = self._clock()
        self._last = [now, now]

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()

    def after_key(self) -> int | None:
        """A key has been drawn: collect the middle generation if a second has gone by since the last
        pass (the next key usually comes later than the few ms that takes)."""
        if self._saved is None or self._clock() - self._last[0] < MIDDLE_SECONDS:
            return None
        gc.collect(1)
        self._last[0] = self._clock()
        return 1

    def tick(self, last_key: float) -> int | None:
        """Collect the older generations when they are due (quiet since ``last_key``, a monotonic time,
        or waited too long); the generation collected, if any."""
        if self._saved is None:
            return None
        now = self._clock()
        quiet = now - last_key >= QUIET_SECONDS
        for generation, every, forced in (
            (2, FULL_SECONDS, FORCED_SECONDS[1]),
            (1, MIDDLE_SECONDS, FORCED_SECONDS[0]),
        ):
            waited = now - self._last[generation - 1]
            if (quiet and waited >= every) or waited >= forced:
                gc.collect(generation)
                self._last[generation - 1] = now
                if generation == 2:
                    self._last[0] = now  # a full pass collects the middle generation too
                return generation
        return None
