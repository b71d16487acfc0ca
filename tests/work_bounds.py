"""Bounds on the work a block of code does that hold on any machine: its peak Python memory in
bytes, and its CPU time as a multiple of a calibration, ordinary input through the same code,
measured in the same run. Never a bound in absolute seconds: a slower or busier machine slows
the calibration as much as the block.

    calibration = calibrate(lambda: parse(ordinary))
    with measured() as work:
        parse(hostile)
    work.assert_within(calibration, times=20, mib=64)
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass
class Work:
    """What a block cost: CPU seconds of this process (every thread: the handlers, moto, the
    endpoint double) and the peak of Python's traced memory, in bytes."""

    cpu_s: float = 0.0
    peak_bytes: int = 0

    def assert_within(self, calibration: Work, *, times: float, mib: float) -> None:
        """Under `mib` MiB at the peak, and under `times` the calibration's CPU."""
        ratio = self.cpu_s / calibration.cpu_s
        print(
            f"work: {ratio:.2f} x calibration ({self.cpu_s:.2f} s / {calibration.cpu_s:.2f} s CPU), "
            f"peak {self.peak_bytes / MIB:.1f} MiB"
        )
        assert self.peak_bytes < mib * MIB, f"peak {self.peak_bytes / MIB:.1f} MiB, bound {mib} MiB"
        assert ratio < times, f"{ratio:.1f} x the calibration's CPU, bound {times} x"


@contextmanager
def measured() -> Iterator[Work]:
    """Measure the block (tracemalloc on, which slows Python about 2x: the calibration is measured
    the same way, so it cancels out)."""
    work = Work()
    tracemalloc.start()
    cpu = time.process_time()
    try:
        yield work
        work.cpu_s = time.process_time() - cpu
        work.peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def calibrate(ordinary: Callable[[], object], runs: int = 3) -> Work:
    """The median of `runs` measurements of ordinary work."""
    works = []
    for _ in range(runs):
        with measured() as work:
            ordinary()
        works.append(work)
    return median(works)


def median(works: list[Work]) -> Work:
    """The median of several measurements (one run slowed by a neighbour, or sped by a warm
    cache, does not set the bound)."""
    return Work(
        cpu_s=max(statistics.median(w.cpu_s for w in works), 1e-6),
        peak_bytes=int(statistics.median(w.peak_bytes for w in works)),
    )
