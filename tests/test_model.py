import math

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
    assert net(torch.zeros(1, 1, 32, 32)).shape == (1, 10)


def test_activations_come_from_the_same_forward_pass():
    net = new_model(seed=3)
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    acts = net.forward_with_activations(x)
    assert acts.conv1.shape == (2, 6, 30, 30)
    assert acts.conv2.shape == (2, 16, 13, 13)
    assert (acts.conv1 >= 0).all() and (acts.conv2 >= 0).all()  # after ReLU
    torch.testing.assert_close(acts.output, net(x))
    torch.testing.assert_close(acts.conv1, torch.relu(net.conv1(x)))


EPS32 = torch.finfo(torch.float32).eps


def rounding_tolerance(reference: torch.Tensor, terms: int) -> float:
    """How far two float32 sums of `terms` products may drift apart when summed in another order or blocking.

    Rounding errors of a blocked sum grow about as sqrt(terms) units in the last place of its largest values; a real
    difference (a wrong crop, a ReLU in the wrong place) changes results by a large fraction of them.
    """
    return 4 * EPS32 * math.sqrt(terms) * float(reference.abs().max())


def test_forward_equals_the_tutorials_within_float_rounding_in_values_and_gradients():
    """The cropped forward computes the same sums as the tutorial's, but oneDNN may order them differently.

    On CPUs where it blocks a 28x28 sum unlike a 30x30 one (AVX2 kernels, say), conv1's gradients differ by ~3e-9:
    equal within float32 rounding, not bit for bit.
    """
    generator = torch.Generator().manual_seed(4)
    batch = 64
    # The longest sums: conv1's weight gradient adds batch x 30 x 30 products; the forward's, fc1's 576.
    backward_terms, forward_terms = batch * 30 * 30, 16 * 6 * 6
    for memory_format in (torch.contiguous_format, torch.channels_last):
        net = new_model(seed=4).to(memory_format=memory_format)
        x = torch.randn(batch, 1, 32, 32, generator=generator).contiguous(memory_format=memory_format)
        x[:8] = -x[:8].abs()  # whole pooling windows below zero: ReLU's zero gradient either way
        target = torch.randint(0, 10, (batch,), generator=generator)
        runs = []
        # forward_with_activations is the tutorial's order: ReLU, then max-pool.
        for forward in (net, lambda v, net=net: net.forward_with_activations(v).output):
            net.zero_grad()
            out = forward(x)
            F.cross_entropy(out, target).backward()
            runs.append((out.detach(), {name: p.grad.clone() for name, p in net.named_parameters()}))
        (out, grads), (tutorial_out, tutorial_grads) = runs
        torch.testing.assert_close(out, tutorial_out, rtol=0, atol=rounding_tolerance(tutorial_out, forward_terms))
        for name, expected in tutorial_grads.items():
            assert expected.abs().max() > 0, name  # a gradient to compare, not zeros on both sides
            torch.testing.assert_close(
                grads[name], expected, rtol=0, atol=rounding_tolerance(expected, backward_terms), msg=name
            )


def test_rounding_tolerance_tells_a_real_difference():
    """The tolerance above is ~3e-5 of a gradient's scale: dropping one input row's share is far outside it."""
    generator = torch.Generator().manual_seed(5)
    net = new_model(seed=5)
    x = torch.randn(64, 1, 32, 32, generator=generator)
    target = torch.randint(0, 10, (64,), generator=generator)
    grads = []
    for crop in (32, 29):  # 29: the last row that reaches the output is wrongly left out
        net.zero_grad()
        F.cross_entropy(
            net.forward_with_activations(F.pad(x[..., :crop, :], (0, 0, 0, 32 - crop))).output, target
        ).backward()
        grads.append(net.conv1.weight.grad.clone())
    assert (grads[0] - grads[1]).abs().max() > 100 * rounding_tolerance(grads[0], 64 * 30 * 30)


def test_the_inputs_last_rows_and_columns_do_not_reach_the_tutorials_output():
    net = new_model(seed=7)
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(4, 1, 32, 32, generator=generator)

    def tutorial(v: torch.Tensor) -> torch.Tensor:
        return net.forward_with_activations(v).output

    for rows, cols in ((slice(REACHING_OUTPUT, None), slice(None)), (slice(None), slice(REACHING_OUTPUT, None))):
        changed = x.clone()
        changed[..., rows, cols] = torch.randn(changed[..., rows, cols].shape, generator=generator) * 10
        # Exact by construction: every output is the same sums of the same numbers, whatever the other inputs.
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
