"""Grading on GPUs: each sandbox sees the GPU of its worker, has room for a CUDA context, and the host's
references run without TF32. The end-to-end case needs a GPU and is skipped without one; the rest runs
everywhere, on the command lines the grader really builds."""
import nbformat
import pytest
import torch

from autograder.grading import sandbox
from autograder.grading.batch import _gpu_slots
from autograder.grading.course_dir import make_course
from autograder.grading.pipeline import GradingJob, grade_one
from autograder.grading.sandbox import CUDA_CONTEXT_MB, Limits, _sandbox_command, _with_gpu_room, visible_gpus
from autograder.nbgrader.submissions import solved_copy, write_submission


@pytest.mark.parametrize("slot, visible, expected", [
    (None, None, None),          # not pinned, host says nothing: every GPU
    (None, "2,3", "2,3"),        # not pinned: the host's list as it is
    (0, None, "0"),
    (1, None, "1"),
    (1, "3, 5", "5"),            # the slot-th entry of the host's list
    (0, "GPU-8f2c", "GPU-8f2c"),
])
def test_a_pinned_sandbox_sees_the_gpu_of_its_slot(slot, visible, expected):
    assert visible_gpus(slot, visible) == expected


def test_a_slot_beyond_the_hosts_gpus_is_refused():
    with pytest.raises(ValueError, match="names 2"):
        visible_gpus(2, "0,1")


def _command(tmp_path, gpu):
    work = tmp_path / f"work-{gpu}"
    work.mkdir()
    return _sandbox_command(work, 123456, tmp_path, Limits(), "pass", [], gpu=gpu)[-1]


def test_the_sandbox_command_carries_the_pinned_gpu_only(tmp_path):
    pinned = _command(tmp_path, "5")
    assert "--setenv CUDA_VISIBLE_DEVICES 5" in pinned
    every = _command(tmp_path, None)
    assert "CUDA_VISIBLE_DEVICES" not in every
    cpu = _command(tmp_path, False)
    assert "CUDA_VISIBLE_DEVICES" not in cpu and "/dev/nvidia" not in cpu


def test_a_gpu_sandbox_gets_room_for_the_cuda_context():
    limits = Limits(memory_mb=1000)
    assert _with_gpu_room(limits, False) == limits
    assert _with_gpu_room(limits, None).memory_mb == _with_gpu_room(limits, "0").memory_mb == 1000 + CUDA_CONTEXT_MB


def test_a_cuda_batch_has_one_worker_per_gpu_and_a_cpu_batch_none_pinned():
    cuda = [GradingJob("s", "rnn", "", "", 1, "", Limits(), "cuda")]
    cpu = [GradingJob("s", "rnn", "", "", 1, "", Limits(), "cpu")]
    assert _gpu_slots(cpu, 8) == ([], False)
    slots, pin = _gpu_slots(cuda, 8)
    assert pin and slots == list(range(max(1, min(8, sandbox.gpu_count()))))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_solved_notebook_gets_full_marks_on_the_gpu_with_tf32_off(tmp_path):
    course_dir = tmp_path / "course"
    coursedir, _, _ = make_course(course_dir, ["rnn"], seed=7)
    release = nbformat.read(course_dir / "release" / "rnn" / "rnn.ipynb", as_version=4)
    source = course_dir / "source" / "rnn" / "rnn.ipynb"
    submission = course_dir / "submitted" / "gpu_student" / "rnn" / "rnn.ipynb"
    write_submission(solved_copy(release, nbformat.read(source, as_version=4)), submission)
    runtime = tmp_path / "runtime"
    sandbox.ensure_runtime(runtime)
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        row = grade_one(GradingJob("gpu_student", "rnn", str(submission), str(source), 7, str(runtime),
                                   Limits(), "cuda"))
    finally:
        sandbox.close_servers()
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert row.status == "graded" and row.score == row.max_score > 0, row.message
