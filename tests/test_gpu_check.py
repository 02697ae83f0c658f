"""The GPU check's command: its table (run here on the CPU) and its answer on a machine without CUDA."""
import pytest
import torch

import reference_solutions as right
from autograder import gpu_check
from autograder.assess import CHECK_IDS


def test_the_table_lists_every_check_with_its_largest_error(capsys):
    assert gpu_check.main(["--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"torch {torch.__version__}")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split() and line.split()[0] in CHECK_IDS}
    assert set(rows) == set(CHECK_IDS)
    for check_id, (_, status, cases, largest_error, seconds) in rows.items():
        assert status == "ok" and int(cases) > 0, check_id
        assert float(seconds) >= 0.0, check_id  # printed to 3 decimals: a fast check reads 0.000
        # Value checks of the original parts agree to 1e-3; the later parts (a trained model's loss) have
        # their own tolerances in their specs.
        assert 0.0 <= float(largest_error) < (1e-3 if check_id in right.BY_CHECK_ID else float("inf")), check_id
    assert f"{len(CHECK_IDS)} of {len(CHECK_IDS)} checks passed on cpu" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: `make gpu-check` runs the checks")
def test_without_cuda_it_says_so_and_exits_zero(capsys):
    assert gpu_check.main([]) == 0
    assert "CUDA is not available" in capsys.readouterr().out
