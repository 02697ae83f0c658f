"""Bounds the prose states are rounded in the direction that keeps them true."""
import pytest

from rnn_demos.rounding import round_down, round_up


@pytest.mark.parametrize("value, significant, strict, expected", [
    (5.10e-4, 1, False, 6e-4), (5.10e-4, 2, False, 5.1e-4), (5.10e-4, 2, True, 5.2e-4),
    (5.28, 1, False, 6.0), (6.0, 1, True, 7.0), (0.0184, 1, False, 0.02),
])
def test_round_up_never_states_less_than_the_value(value, significant, strict, expected):
    bound = round_up(value, significant, strict)
    assert bound == pytest.approx(expected) and (bound > value if strict else bound >= value)


@pytest.mark.parametrize("value, significant, strict, expected", [
    (18.55, 1, False, 10.0), (18.55, 2, False, 18.0), (18.0, 2, True, 17.0), (1.79, 2, False, 1.7),
])
def test_round_down_never_states_more_than_the_value(value, significant, strict, expected):
    bound = round_down(value, significant, strict)
    assert bound == pytest.approx(expected) and (bound < value if strict else bound <= value)


@pytest.mark.parametrize("value", [0.0, -1.0, float("inf"), float("nan")])
def test_a_bound_of_a_non_positive_or_infinite_value_is_refused(value):
    with pytest.raises(ValueError, match="positive finite"):
        round_up(value)
