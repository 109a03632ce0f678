"""How often the live views redraw while the network trains: at their own rates while the GUI thread has time to
spare, slower when drawing them takes more of a core than BUDGET.

Every millisecond the GUI thread spends drawing is taken from training on a 2-core laptop (the training thread's
workers wait for the core the GUI holds), and what a redraw costs depends on the machine, the window's size, the
screen's scale and what is shown (five earlier runs, the layer health plot). So the rates are not fixed: once a second
while training, the pace reads the CPU time the GUI thread used (`time.thread_time`, that thread's own clock) and
stretches the intervals of the timers it follows when the share was over budget, back towards their own rates when
it was well under. A fast machine draws at full rate; a slow one draws less often rather than train slower.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

BUDGET = 0.05  # of one core: the GUI thread's share while training, all of its work (plots, read-outs, events) in it
MAX_STRETCH = 4.0  # the slowest: the loss plot 2.5 times a second, the layer health plot every 2 s
SAMPLE_MS = 1000  # how often the GUI thread's share is read


class Pace(QObject):
    """Stretches the intervals of the timers it follows (each from its own base interval) by one factor."""

    stretch_changed = Signal(float)

    def __init__(self, parent: QObject | None = None, budget: float = BUDGET) -> None:
        super().__init__(parent)
        self.budget = budget
        self.stretch = 1.0
        self.share: float | None = None  # the GUI thread's share of a core over the last sample, while measuring
        self._timers: list[tuple[QTimer, int]] = []  # each with its own interval
        self._applied = 1.0  # the stretch the timers are meant to run at now (1 between runs)
        self._clock = QTimer(self, interval=SAMPLE_MS)
        self._clock.timeout.connect(self._sample)
        self._since: tuple[float, float] | None = None  # (wall, GUI thread CPU) at the last sample

    def follow(self, timer: QTimer) -> None:
        """Keep timer's interval at its present one times the stretch, while training. (A caller may start it with
        a shorter interval for once, e.g. `start(ms)` for a drawing that changed: its own is back after it fired.)"""
        self._timers.append((timer, timer.interval()))
        timer.timeout.connect(self._settle)  # after the owner's slot: a single-shot timer is idle by then
        self._settle(timer)

    @property
    def measuring(self) -> bool:
        return self._clock.isActive()

    def set_measuring(self, on: bool) -> None:
        """Measure while training. Between runs the timers keep their own rates (a drawing's feature maps follow it
        at once); the stretch learnt is kept for the next run: the machine is the same."""
        if on and not self.measuring:
            self._since = (time.perf_counter(), time.thread_time())  # called on the GUI thread: its clock
            self._clock.start()
            self._apply(self.stretch)
        elif not on and self.measuring:
            self._clock.stop()
            self._since, self.share = None, None
            self._apply(1.0)

    def _sample(self) -> None:
        now = (time.perf_counter(), time.thread_time())
        wall, cpu = now[0] - self._since[0], now[1] - self._since[1]
        self._since = now
        if wall <= 0:
            return
        self.share = cpu / wall
        self._set_stretch(self.next_stretch(self.stretch, self.share, self.budget))

    @staticmethod
    def next_stretch(stretch: float, share: float, budget: float) -> float:
        """Over budget: stretch in proportion (at most doubling a second); under 60 % of it: a quarter back."""
        if share > budget:
            stretch *= min(share / budget, 2.0)
        elif share < 0.6 * budget:
            stretch /= 1.25
        return min(max(stretch, 1.0), MAX_STRETCH)

    def _set_stretch(self, stretch: float) -> None:
        if stretch != self.stretch:
            self.stretch = stretch
            self._apply(stretch)
            self.stretch_changed.emit(stretch)

    def _apply(self, stretch: float) -> None:
        self._applied = stretch
        for timer, _ in self._timers:
            self._settle(timer)

    def _settle(self, timer: QTimer | None = None) -> None:
        """Give timer (else the one that just fired) the interval it should have now. setInterval restarts a
        running timer: one already armed keeps its time, unless the new interval brings it sooner."""
        timer = timer if timer is not None else self.sender()
        base = next((b for t, b in self._timers if t is timer), None)
        if base is None:
            return
        interval = round(base * self._applied)
        if timer.interval() != interval and (not timer.isActive() or interval < timer.remainingTime()):
            timer.setInterval(interval)
