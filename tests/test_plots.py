import numpy as np

from app.plots import SMOOTH_POINTS, TrainingPlots


def test_loss_plot_keeps_every_point_but_draws_few(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    losses = np.linspace(2.3, 0.1, 100_000)
    plots.add_losses(list(range(1, 100_001)), list(losses))
    plots._redraw()
    x, y = plots.raw_curve.getOriginalDataset()
    assert len(x) == 100_000 and y[-1] == losses[-1]
    sx, sy = plots.smooth_curve.getOriginalDataset()
    assert len(sx) <= SMOOTH_POINTS + 2 and sx[0] == 1 and sx[-1] == 100_000
    assert abs(sy[-1] - losses[-1]) < 0.01  # the moving average has caught up with the slow decline
    assert plots.loss_plot.getPlotItem().clipToViewMode()
    plots.log_scale.setChecked(True)
    assert plots.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()


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
