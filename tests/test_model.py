import pytest
import torch
import torch.nn.functional as F

from lenet_core.model import REACHING_OUTPUT, LeNet, new_model


def test_shapes_and_parameter_count_match_the_tutorial():
    net = LeNet()
    assert [tuple(p.shape) for p in net.parameters()] == [
        (6, 1, 3, 3),
        (6,),
        (16, 6, 3, 3),
        (16,),
        (120, 576),
        (120,),
        (84, 120),
        (84,),
        (10, 84),
        (10,),
    ]
    assert sum(p.numel() for p in net.parameters()) == 81194
    assert net(torch.randn(1, 1, 32, 32)).shape == (1, 10)


def test_activations_come_from_the_same_forward_pass():
    net = new_model(seed=3)
    x = torch.randn(2, 1, 32, 32)
    acts = net.forward_with_activations(x)
    assert acts.conv1.shape == (2, 6, 30, 30)
    assert acts.conv2.shape == (2, 16, 13, 13)
    assert (acts.conv1 >= 0).all() and (acts.conv2 >= 0).all()  # after ReLU
    torch.testing.assert_close(acts.output, net(x))
    torch.testing.assert_close(acts.conv1, torch.relu(net.conv1(x)))


def test_forward_equals_the_tutorials_exactly_in_values_and_gradients():
    for memory_format in (torch.contiguous_format, torch.channels_last):
        net = new_model(seed=4).to(memory_format=memory_format)
        x = torch.randn(64, 1, 32, 32).contiguous(memory_format=memory_format)
        x[:8] = -x[:8].abs()  # whole pooling windows below zero: ReLU's zero gradient either way
        target = torch.randint(0, 10, (64,))
        grads = []
        # forward_with_activations is the tutorial's order: ReLU, then max-pool.
        for forward in (net, lambda v, net=net: net.forward_with_activations(v).output):
            net.zero_grad()
            out = forward(x)
            F.cross_entropy(out, target).backward()
            grads.append((out.detach(), [p.grad.clone() for p in net.parameters()]))
        assert torch.equal(grads[0][0], grads[1][0])
        for a, b in zip(grads[0][1], grads[1][1], strict=True):
            assert torch.equal(a, b)


def test_the_inputs_last_rows_and_columns_do_not_reach_the_tutorials_output():
    net = new_model(seed=7)
    x = torch.randn(4, 1, 32, 32)

    def tutorial(v: torch.Tensor) -> torch.Tensor:
        return net.forward_with_activations(v).output

    for rows, cols in ((slice(REACHING_OUTPUT, None), slice(None)), (slice(None), slice(REACHING_OUTPUT, None))):
        changed = x.clone()
        changed[..., rows, cols] = torch.randn_like(changed[..., rows, cols]) * 10
        assert torch.equal(tutorial(changed), tutorial(x))
    # ...while the last row and column that are kept do.
    last = REACHING_OUTPUT - 1
    for rows, cols in ((last, slice(None)), (slice(None), last)):
        edge = x.clone()
        edge[..., rows, cols] += 10
        assert not torch.allclose(tutorial(edge), tutorial(x))


def test_a_wrong_input_size_is_named_not_cropped():
    net = new_model(seed=8)
    for shape in ((2, 1, 36, 36), (2, 1, 28, 28), (2, 3, 32, 32)):
        with pytest.raises(ValueError, match=" x ".join(map(str, shape))):
            net(torch.zeros(shape))


def test_seeded_models_repeat_without_touching_global_rng():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = new_model(seed=5), new_model(seed=5)
    assert torch.rand(1) == expected_next
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(new_model(seed=6).conv1.weight, a.conv1.weight)
