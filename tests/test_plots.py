import numpy as np
import pytest

from app.plots import Growing, SteadyViewBox, TrainingPlots, epoch_tick_spacing


@pytest.fixture
def shown_plots(qtbot) -> TrainingPlots:
    """The plots at 800x400, shown (auto-range and downsampling depend on the view's size in pixels)."""
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 400)
    plots.show()
    qtbot.waitExposed(plots)
    return plots


def test_loss_plot_keeps_every_point_but_draws_few(shown_plots):
    plots = shown_plots
    losses = np.linspace(2.3, 0.1, 100_000)
    plots.add_losses(list(range(1, 100_001)), list(losses))
    plots._redraw()
    x, y = plots.raw_curve.getOriginalDataset()
    assert len(x) == 100_000 and y[-1] == losses[-1]
    sx, sy = plots.smooth_curve.getOriginalDataset()
    assert len(sx) == 100_000
    assert abs(sy[-1] - losses[-1]) < 0.01  # the moving average has caught up with the slow decline
    plots.loss_plot.getViewBox().updateAutoRange()  # as the next paint does
    width = plots.loss_plot.getViewBox().width()
    drawn_raw, _ = plots.raw_curve.getData()
    drawn_smooth, _ = plots.smooth_curve.getData()
    assert 0 < len(drawn_raw) <= 2 * 5 * width + 2  # peak mode: a min and a max per ~5 samples a pixel
    assert width / 4 <= len(drawn_smooth) <= width + 2  # about a point every 2 pixels
    assert drawn_smooth[0] == 1 and drawn_smooth[-1] > 100_000 - 2 * 100_000 / width
    assert plots.loss_plot.getPlotItem().clipToViewMode()
    plots.log_scale.setChecked(True)
    assert plots.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()


def test_redraws_come_with_new_points_and_stop_without_them(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    assert not plots.redraw_timer.isActive()  # idle: no timer wakes the GUI thread
    for step in range(1, 4):  # points arriving within one interval are drawn by one redraw
        plots.add_losses([step], [1.0 / step])
    qtbot.waitUntil(lambda: plots.raw_curve.getOriginalDataset()[0] is not None, timeout=20000)
    x, y = plots.raw_curve.getOriginalDataset()
    assert list(x) == [1, 2, 3] and np.allclose(y, [1, 0.5, 1 / 3])
    assert not plots.redraw_timer.isActive()
    plots.add_accuracy(1, 0.9)
    qtbot.waitUntil(lambda: plots.accuracy_curve.getOriginalDataset()[0] is not None, timeout=20000)
    assert not plots.redraw_timer.isActive()


def test_accuracy_points_and_clear(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.add_accuracy(1, 0.9)
    plots.add_accuracy(2, 0.95)
    plots._redraw()
    x, y = plots.accuracy_curve.getOriginalDataset()
    assert list(x) == [1, 2] and np.allclose(y, [90, 95])
    plots.clear()
    plots._redraw()
    x, _ = plots.accuracy_curve.getOriginalDataset()
    assert plots.point_count == 0 and (x is None or len(x) == 0)


def test_loss_plot_range_follows_the_data_in_steps(shown_plots):
    """Auto-range keeps up with new points but changes the range (and redraws the axes) only now and then."""
    plots = shown_plots
    view = plots.loss_plot.getViewBox()
    changes = []
    view.sigRangeChanged.connect(lambda *_: changes.append(view.viewRange()))
    rng = np.random.default_rng(0)
    for start in range(1, 2001, 5):  # 400 redraws, as 20 Hz of training would give in 20 s
        steps = np.arange(start, start + 5)
        plots.add_losses(list(steps), list(2.3 * np.exp(-steps / 500) + 0.1 * rng.random(5)))
        plots._redraw()
        view.updateAutoRange()
        (x0, x1), (y0, y1) = view.viewRange()
        assert x0 <= 1 and x1 >= steps[-1]  # every point in view
        assert y0 <= plots._losses.view().min() and y1 >= plots._losses.view().max()
    assert x0 == 0 and y0 == 0  # steps and losses are never negative: no room wasted below zero
    assert x1 < 1.3 * 2000
    assert 3 <= len(changes) <= 40  # about every 25 % of growth, not 400 times


def test_steady_range_shrinks_when_the_data_does():
    assert SteadyViewBox._steady((0, 100), (0, 90), 0.0) == (0, 100)  # room left: kept
    low, high = SteadyViewBox._steady((0, 100), (0, 110), 0.0)
    assert low == 0 and high == 110 + 0.25 * 110  # outgrown: room for 25 % more
    low, high = SteadyViewBox._steady((0, 100), (0, 10), 0.0)
    assert low == 0 and 10 < high < 11  # the data fill a tenth (a new run): fit them again
    low, high = SteadyViewBox._steady((-1, 0), (-3, -2), None)
    assert low < -3 and high == 0  # no floor (log scale): room below too


def test_log_scale_from_the_plot_menu_shows_every_point(shown_plots):
    """On a log axis, losses under 1 are below 0 in the view: the linear floor at 0 must not cut them off."""
    plots = shown_plots
    plots.loss_plot.getPlotItem().ctrl.logYCheck.setChecked(True)  # the context menu's Log Y
    assert plots.log_scale.isChecked()  # the box follows
    losses = np.linspace(2.3, 0.97, 200)
    plots.add_losses(list(range(1, 201)), list(losses))
    plots._redraw()
    view = plots.loss_plot.getViewBox()
    view.updateAutoRange()
    (_, _), (y0, y1) = view.viewRange()
    assert y0 <= np.log10(losses.min()) and y1 >= np.log10(losses.max())
    plots.log_scale.setChecked(False)
    assert not plots.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()


def test_epoch_ticks_stay_readable_as_epochs_grow(shown_plots):
    assert epoch_tick_spacing(7, 200) == (1, 1)  # every epoch while they fit: 7 labels of 28 px in 200 px
    assert epoch_tick_spacing(15, 300) == (2, 1)  # 15 would overlap in 300 px
    assert epoch_tick_spacing(15, 200) == (5, 1)
    assert epoch_tick_spacing(200, 200) == (50, 10)
    for epoch in range(1, 16):
        shown_plots.add_accuracy(epoch, 0.98)
    shown_plots._redraw()
    axis = shown_plots.accuracy_plot.getAxis("bottom")
    (major, labelled), _ = axis.tickValues(0.5, 15.5, axis.width())  # what the axis draws now
    assert major == epoch_tick_spacing(15, axis.width())[0]
    assert len(labelled) * 28 <= axis.width()  # 15 epochs in ~270 px: every other one is labelled


def test_a_cleared_column_leaves_views_taken_before_alone():
    """pyqtgraph keeps the arrays setData got: what a curve holds must not change under it after a clear."""
    column = Growing()
    column.extend([1.0, 2.0, 3.0])
    held = column.view()
    column.clear()
    column.extend([7.0, 8.0])
    assert held.tolist() == [1.0, 2.0, 3.0]
    assert column.view().tolist() == [7.0, 8.0]
    column.extend(range(2000))  # grows past its first buffer
    assert column.view()[:3].tolist() == [7.0, 8.0, 0.0] and column.size == 2002
