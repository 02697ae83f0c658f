"""A right answer passes every hidden check whatever the term seed: the instructor picks a new seed each term,
and no seed may make a tolerance too tight for honest rounding (the large-pre-activation family in float32
once failed right answers of rnn_bptt and gru_forward on 2 of 8 seeds)."""
import pytest

import reference_solutions as right
import reference_solutions_char_lm as right_char_lm
import reference_solutions_new_parts as right_new
from autograder.assess import run_check

TRAINED_MODELS = ("adding_parameters", "language_model_parameters")  # each has its own test
SOLUTIONS = {check_id: fn for check_id, fn in {**right.BY_CHECK_ID, **right_new.BY_CHECK_ID,
                                               **right_char_lm.BY_CHECK_ID}.items()
             if not check_id.endswith(TRAINED_MODELS)}
SEEDS = (1, 2, 3, 5, 8, 13, 21, 31, 4242, 7_391_846_205)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_right_answer_passes_under_the_term_seed(seed):
    results = {check_id: run_check(check_id, fn, device="cpu", seed=seed) for check_id, fn in SOLUTIONS.items()}
    assert {check_id: result.message[:300] for check_id, result in results.items() if not result.passed} == {}
