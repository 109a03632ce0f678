"""The live views' pace while training (app/pace.py): slower when the GUI thread is over its budget, their own rates
between runs."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer

from app.pace import MAX_STRETCH, Pace


def due_within(timer: QTimer, ms: int) -> bool:
    """Armed to fire within ms (a coarse timer, Qt's default, may come up to 5 % late)."""
    return timer.isActive() and timer.remainingTime() <= ms * 1.05 + 1


def busy(seconds: float) -> None:
    """Keep the calling (GUI) thread on the CPU: its own clock advances."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        sum(range(1000))


@pytest.mark.parametrize(
    ("stretch", "share", "expected"),
    [
        (1.0, 0.10, 2.0),  # twice the budget: twice the intervals
        (1.0, 0.50, 2.0),  # ten times: at most doubling a second, the next sample says more
        (1.0, 0.075, 1.5),
        (3.0, 0.20, MAX_STRETCH),  # never slower than the slowest
        (2.0, 0.05, 2.0),  # on budget: kept
        (2.0, 0.04, 2.0),  # a little under: kept (no see-saw)
        (2.0, 0.01, 1.6),  # well under: a quarter back
        (1.1, 0.0, 1.0),  # never faster than the timers' own rates
    ],
)
def test_next_stretch(stretch, share, expected):
    assert Pace.next_stretch(stretch, share, budget=0.05) == pytest.approx(expected)


def test_timers_follow_the_stretch_while_measuring_and_their_own_rates_between(qtbot):
    pace = Pace(budget=1e-6)  # any work is over this budget
    plot, readout = QTimer(interval=100), QTimer(interval=250)
    pace.follow(plot)
    pace.follow(readout)
    assert (plot.interval(), readout.interval()) == (100, 250)

    pace.set_measuring(True)
    busy(0.05)
    with qtbot.waitSignal(pace.stretch_changed, timeout=5000) as changed:
        pace._sample()  # the clock's tick, now rather than in a second
    assert pace.share > 0
    assert changed.args == [2.0] and pace.stretch == 2.0
    assert (plot.interval(), readout.interval()) == (200, 500)
    for _ in range(3):
        busy(0.02)
        pace._sample()
    assert pace.stretch == MAX_STRETCH
    assert (plot.interval(), readout.interval()) == (400, 1000)

    pace.set_measuring(False)  # between runs: a drawing's feature maps follow it at once
    assert not pace.measuring
    assert (plot.interval(), readout.interval()) == (100, 250)
    pace.set_measuring(True)  # the next run starts at the pace learnt: the machine is the same
    assert (plot.interval(), readout.interval()) == (400, 1000)
    late = QTimer(interval=40)
    pace.follow(late)
    assert late.interval() == 160
    pace.set_measuring(False)


def test_an_idle_gui_thread_gets_the_rates_back(qtbot):
    pace = Pace(budget=1e-6)
    timer = QTimer(interval=100)
    pace.follow(timer)
    pace.set_measuring(True)
    busy(0.05)
    pace._sample()
    assert timer.interval() == 200
    pace.budget = 1e6  # now anything is far under budget
    for _ in range(10):
        pace._sample()
    assert pace.stretch == 1.0 and timer.interval() == 100
    pace.set_measuring(False)


def test_a_stretch_never_puts_off_a_redraw_already_armed(qtbot):
    pace = Pace(budget=1e-6)
    timer = QTimer(singleShot=True, interval=200)
    pace.follow(timer)
    timer.start()
    pace.set_measuring(True)
    busy(0.05)
    pace._sample()  # stretched x2 while armed: setInterval would restart it, 400 ms from now
    assert pace.stretch == 2.0
    assert due_within(timer, 200) and timer.interval() == 200
    with qtbot.waitSignal(timer.timeout, timeout=5000):
        pass
    assert timer.interval() == 400  # the stretched interval from the next time on
    timer.start(50)  # a caller's one-off shorter wait (a drawing changed) ...
    with qtbot.waitSignal(timer.timeout, timeout=5000):
        pass
    assert timer.interval() == 400  # ... and the pace's interval is back after it
    timer.start()
    pace.set_measuring(False)  # back to a shorter interval: brought forward at once
    assert timer.interval() == 200 and due_within(timer, 200)


def test_the_window_paces_its_live_views_while_training(qtbot, make_window):
    from app.live_view import FEATURE_INTERVAL_MS

    from .test_gui import drag

    window = make_window()
    window.panel.set_config(window.panel.config().replace(epochs=1000))  # still training at the checks below
    window._config_changed(window.panel.config())
    pace = window.pace
    followed = {id(timer) for timer, _ in pace._timers}
    for timer in (window.plots.redraw_timer, window.live.health.redraw_timer, window.live.features_timer,
                  window.panel.readout_timer):  # fmt: skip
        assert id(timer) in followed
    assert not pace.measuring  # an idle window measures nothing and wakes no one
    base = window.plots.redraw_timer.interval()

    pace.budget = 1e-6  # as on a machine where drawing is slow: the plots slow down
    window.toggle_training()
    qtbot.waitUntil(lambda: pace.measuring)
    qtbot.waitUntil(lambda: pace.stretch > 1, timeout=10000)  # the clock's own ticks
    qtbot.waitUntil(lambda: window.plots.redraw_timer.interval() > base)
    qtbot.waitUntil(lambda: window.plots.raw_curve.getOriginalDataset()[0] is not None, timeout=10000)  # drawn
    # Weight snapshots: at the stretched pace (once a refresh armed before the stretch has fired).
    qtbot.waitUntil(lambda: window.live.features_timer.interval() > FEATURE_INTERVAL_MS)
    # A drawing's feature maps come at once (within FEATURE_INTERVAL_MS), while training slows the rest.
    shown, show = [], window.live.show_prediction
    window.live.show_prediction = lambda prediction, drawn=False: (shown.append(drawn), show(prediction, drawn))
    drag(qtbot, window.canvas, [(0.3, 0.2), (0.7, 0.2), (0.45, 0.8)])
    qtbot.waitUntil(lambda: True in shown)  # the window says the drawing changed
    window.live.features_timer.start()  # armed at the stretched pace, as by a weight snapshot
    show(window._prediction, True)
    assert due_within(window.live.features_timer, FEATURE_INTERVAL_MS)
    assert window.running
    window.toggle_training()
    qtbot.waitUntil(lambda: not window.running, timeout=20000)
    assert not pace.measuring
    qtbot.waitUntil(lambda: window.plots.redraw_timer.interval() == base)  # (once a redraw armed meanwhile is done)
