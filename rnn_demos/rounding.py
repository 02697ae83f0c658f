"""Numbers as the prose states them: a bound is rounded in the direction that keeps it true.

"at least 18 orders" needs the value rounded down, "at most 6" or "below 6e-04" rounded up; a value that
is only reported ("about 1.8 times") is rounded to the nearest.
"""
import math


def _step(value, significant):
    if value <= 0 or not math.isfinite(value):
        raise ValueError(f"a bound is rounded for positive finite values only, got {value!r}")
    if not isinstance(significant, int) or significant < 1:
        raise ValueError(f"significant must be a positive int, got {significant!r}")
    return 10.0 ** (math.floor(math.log10(value)) - significant + 1)


def round_up(value, significant=1, strict=False):
    """The smallest number with `significant` significant digits that is >= value (> value when strict):
    the bound for "at most" (strict: "below")."""
    step = _step(value, significant)
    bound = math.ceil(value / step) * step
    if strict and bound <= value:
        bound += step
    return float(f"{bound:.{significant - 1}e}")


def round_down(value, significant=1, strict=False):
    """The largest number with `significant` significant digits that is <= value (< value when strict):
    the bound for "at least" (strict: "above")."""
    step = _step(value, significant)
    bound = math.floor(value / step) * step
    if strict and bound >= value:
        bound -= step
    return float(f"{bound:.{significant - 1}e}")
