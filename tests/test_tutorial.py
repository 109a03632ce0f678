import copy

import pytest
import torch
import torch.nn.functional as F

from lenet_core.inference import default_model
from lenet_core.preprocess import prepare
from lenet_core.tutorial import LINES, TutorialWalk

from .test_preprocess import drawing


@pytest.mark.parametrize("criterion", ["cross_entropy", "mse"])
def test_five_lines_match_plain_torch(criterion):
    net = default_model()
    reference = copy.deepcopy(net)
    input = prepare(drawing())
    walk = TutorialWalk(net, input, target=3, criterion=criterion, lr=0.01)

    results = [walk.run_line() for _ in LINES]
    assert walk.done
    # the independent computation: the same five lines, written out here
    reference.zero_grad()
    output = reference(input)
    target = torch.tensor([3]) if criterion == "cross_entropy" else F.one_hot(torch.tensor([3]), 10).float()
    loss = (F.cross_entropy if criterion == "cross_entropy" else F.mse_loss)(output, target)
    loss.backward()
    expected = {n: p.detach() - 0.01 * p.grad for n, p in reference.named_parameters()}

    assert results[0].bias_grad_after is None  # zero_grad sets the buffers to None
    torch.testing.assert_close(results[1].output, output.detach()[0])
    assert results[1].activations.conv1.shape == (1, 6, 30, 30)
    assert results[2].loss == pytest.approx(float(loss.detach()), rel=1e-5)  # another forward: rounding may differ
    assert results[3].bias_grad_before is None
    torch.testing.assert_close(results[3].bias_grad_after, reference.conv1.bias.grad)
    torch.testing.assert_close(results[3].weight_grad, reference.conv1.weight.grad)
    for name, param in net.named_parameters():
        torch.testing.assert_close(param.detach(), expected[name])
    for _name, old, lr, grad, new in results[4].updates:
        assert new == pytest.approx(old - lr * grad, rel=1e-6, abs=1e-7)  # float32 rounding of the update
    assert results[4].updates[0][0] == "conv1.bias[0]" and results[4].updates[-1][0] == "fc3.bias[3]"
    assert abs(float(results[4].probabilities_after.sum()) - 1) < 1e-5
    with pytest.raises(RuntimeError, match="restart"):
        walk.run_line()
    walk.restart()
    assert walk.next_line == 0 and len(walk.run_all()) == 5


def test_bad_arguments():
    net = default_model()
    with pytest.raises(ValueError, match="criterion"):
        TutorialWalk(net, prepare(drawing()), 1, criterion="hinge")
    with pytest.raises(ValueError, match="target"):
        TutorialWalk(net, prepare(drawing()), 11)
