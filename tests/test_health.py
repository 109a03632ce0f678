"""Layer health: the engine's numbers against a plain-torch computation, when it measures, and the window's view."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lenet_core.datasets import TensorData
from lenet_core.health import LAYERS, RELU_LAYERS
from lenet_core.model import new_model
from lenet_core.training import PRESETS, Trainer


def batch(n: int = 64, seed: int = 0) -> TensorData:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 32, 32), dtype=torch.uint8, generator=generator)
    return TensorData(images, torch.randint(0, 10, (n,), generator=generator))


def trainer(lr: float, data: TensorData, interval_s: float | None = 0.0) -> Trainer:
    config = PRESETS["default"].replace(lr=lr, lr_schedule="constant", batch_size=len(data), augment=False)
    t = Trainer(new_model(3), config.replace(device="cpu"), data)
    t.health_interval_s = interval_s
    return t


def plain_health(net: torch.nn.Module, data: TensorData, lr: float) -> dict:
    """The same figures by hand: the tutorial's forward as written (ReLU, then pool), autograd, norms."""
    net = net.float()
    x, y = data.inputs(), data.labels
    c1 = net.conv1(x)
    c3 = net.conv2(F.max_pool2d(F.relu(c1), 2))
    f5 = net.fc1(torch.flatten(F.max_pool2d(F.relu(c3), 2), 1))
    f6 = net.fc2(F.relu(f5))
    loss = F.cross_entropy(net.fc3(F.relu(f6)), y)
    net.zero_grad()
    loss.backward()
    # Units whose output reaches the answer: conv1's first 28 rows and columns, conv2's first 12 (the second
    # max-pool floors 13 to 6 pairs).
    outputs = {"conv1": c1[:, :, :28, :28], "conv2": c3[:, :, :12, :12], "fc1": f5, "fc2": f6}
    weights = {name: getattr(net, name).weight for name in LAYERS}
    return {
        "weight_norm": [float(weights[n].detach().norm()) for n in LAYERS],
        "grad_norm": [float(weights[n].grad.norm()) for n in LAYERS],
        "update_ratio": [lr * float(weights[n].grad.norm()) / float(weights[n].detach().norm()) for n in LAYERS],
        "dead": [float((outputs[n] <= 0).all(dim=0).float().mean()) for n in RELU_LAYERS],
    }


def test_layer_health_equals_a_plain_torch_computation():
    data = batch()
    t = trainer(0.1, data)
    expected = plain_health(new_model(3), data, 0.1)  # the trainer's weights before its first step
    health = t.step().health
    assert health is not None and health.step == 1 and health.lr == pytest.approx(0.1)
    for field, values in expected.items():
        assert getattr(health, field) == pytest.approx(values, rel=1e-4, abs=1e-6), field
    assert sum(health.dead) > 0 and all(0 <= d <= 1 for d in health.dead)  # random weights leave some dead


def test_health_is_measured_on_the_first_step_then_at_the_interval():
    data = batch(16)
    assert all(trainer(0.1, data, None).step().health is None for _ in range(3))  # off
    every = trainer(0.1, data, 0.0)
    assert all(every.step().health is not None for _ in range(3))
    rare = trainer(0.1, data, 3600.0)
    measured = [rare.step().health is not None for _ in range(4)]
    assert measured == [True, False, False, False]


def test_diverging_and_stalled_runs_read_differently_from_their_first_step():
    data = batch()
    fast = trainer(10.0, data).step().health
    slow = trainer(1e-5, data).step().health
    usual = trainer(0.1, data).step().health
    assert "too large" in fast.verdict() and "tiny" in slow.verdict() and usual.verdict() == ""
    assert min(fast.update_ratio) > 1000 * max(slow.update_ratio)


def test_the_window_flags_a_diverging_run_before_it_stops(qtbot, make_window):
    """lr 10: the layer-health tab and its read-out say so before the divergence is reported."""
    w = make_window()
    w.panel.source.setCurrentIndex(w.panel.source.findData("mnist"))
    health = w.live.health
    health.warning_changed.connect(lambda verdict: w.warnings.append(f"health: {verdict}"))  # on this thread
    w.panel.set_config(w.panel.config().replace(lr=10.0, momentum=0.99, batch_size=32, lr_schedule="constant"))
    w._config_changed(w.panel.config())
    w.toggle_training()
    qtbot.waitUntil(lambda: any("lower learning rate" in m for m in w.warnings), timeout=20000)
    flagged = next(i for i, m in enumerate(w.warnings) if m.startswith("health: updates too large"))
    diverged = next(i for i, m in enumerate(w.warnings) if "lower learning rate" in m)
    assert flagged < diverged
    assert w.live.tabs.tabText(1) == "Layer health ⚠"
    w.live.tabs.setCurrentWidget(health)  # shown: the plot draws what was measured

    def drawn() -> int:
        steps = health.curves["fc1"].getData()[0]
        return 0 if steps is None else len(steps)

    qtbot.waitUntil(lambda: drawn() == health.count > 0)
    qtbot.waitUntil(lambda: "updates too large" in health.readout.text())
    w.reset_weights()  # new weights: the old run's health goes
    assert health.count == 0 and health.newest is None and w.live.tabs.tabText(1) == "Layer health"


def test_the_window_shows_a_stalled_run(qtbot, make_window):
    w = make_window()
    w.panel.source.setCurrentIndex(w.panel.source.findData("mnist"))
    w.panel.set_config(w.panel.config().replace(lr=1e-5, lr_schedule="constant"))
    w._config_changed(w.panel.config())
    w.step_once()
    qtbot.waitUntil(lambda: w.live.health.count > 0, timeout=20000)
    assert "tiny" in w.live.health.verdict and w.live.tabs.tabText(1) == "Layer health ⚠"
    w.live.tabs.setCurrentWidget(w.live.health)  # the read-out is written while it is shown
    qtbot.waitUntil(lambda: "weights hardly change" in w.live.health.readout.text())
    for index in range(w.live.health.quantity.count()):  # every quantity draws
        w.live.health.quantity.setCurrentIndex(index)


def test_the_view_draws_every_measurement_it_was_given(qtbot):
    """More measurements than the columns first hold, in batches as the worker hands them over; each quantity's
    curves are the values given (dead ReLUs in %, a zero gradient left out on the log axis)."""
    import numpy as np

    from app.health_view import QUANTITIES, LayerHealthView
    from lenet_core.health import LayerHealth

    view = LayerHealthView()
    qtbot.addWidget(view)
    view.show()
    rng = np.random.default_rng(0)
    given = []
    for step in range(1, 1501):
        five = lambda: tuple(float(v) for v in rng.uniform(1e-4, 1.0, len(LAYERS)))  # noqa: E731
        grad = (0.0, *five()[1:]) if step % 100 == 0 else five()  # now and then a layer with no gradient
        dead = tuple(float(v) for v in rng.uniform(0, 1, len(RELU_LAYERS)))
        given.append(LayerHealth(step * 3, 0.1, five(), grad, five(), dead))
    for start in range(0, len(given), 7):
        view.add(given[start : start + 7])
    assert view.count == len(given) and view.newest == given[-1]
    qtbot.waitUntil(lambda: view.curves["fc1"].getOriginalDataset()[0] is not None)  # at the next redraw
    for index, (field, _, log, _) in enumerate(QUANTITIES):
        view.quantity.setCurrentIndex(index)  # another quantity: redrawn at once
        layers = RELU_LAYERS if field == "dead" else LAYERS
        for i, name in enumerate(layers):
            x, y = view.curves[name].getOriginalDataset()
            expected = np.array([getattr(h, field)[i] for h in given]) * (100 if field == "dead" else 1)
            if log:
                expected = np.where(expected > 0, expected, np.nan)
            np.testing.assert_array_equal(x, [h.step for h in given])
            np.testing.assert_array_equal(y, expected)
    view.clear()
    x, _ = view.curves["fc1"].getOriginalDataset()
    assert view.count == 0 and (x is None or x.size == 0)
