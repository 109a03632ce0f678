"""The Qt binding must not corrupt Python's reference counts.

PySide6 6.12.0 released one reference to `True` too many in calls pyqtgraph makes all the time (about 500 a second
while the window trains), so a long session, or this test suite, ended in "Fatal Python error: bool_dealloc".
pyproject.toml excludes that release; this test catches a binding that does it again.
"""

import gc
import sys

import pyqtgraph as pg


def test_plot_items_keep_bool_refcounts(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    items = [pg.TextItem(str(i)) for i in range(200)]
    gc.collect()
    was_enabled = gc.isenabled()  # (the test session collects on the GUI thread only: off already)
    gc.disable()  # garbage freed meanwhile would release true references and blur the count
    try:
        before_true, before_false = sys.getrefcount(True), sys.getrefcount(False)
        for item in items:
            plot.addItem(item)
        for i in range(20):
            plot.plot([0, 1, 2], [i, 0, 1])
        plot.repaint()
        after_true, after_false = sys.getrefcount(True), sys.getrefcount(False)
    finally:
        if was_enabled:
            gc.enable()
    # The broken binding lost about 3 references per addItem (600 here); a sound one loses none.
    assert after_true >= before_true - 20
    assert after_false >= before_false - 20
