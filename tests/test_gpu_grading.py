"""Grading on GPUs: each sandbox sees the GPU of its worker, has room for a CUDA context, and the host's
references run without TF32. The end-to-end case needs a GPU and is skipped without one; the rest runs
everywhere, on the command lines the grader really builds."""
from dataclasses import replace

import nbformat
import pytest
import torch

from autograder.grading import sandbox
from autograder.grading.batch import _gpu_slots
from autograder.grading.course_dir import make_course
from autograder.grading.pipeline import GradingJob, grade_one
from autograder.grading.sandbox import CUDA_CONTEXT_MB, Limits, _sandbox_command, _with_gpu_room, visible_gpus
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission


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


# One realistic wrong answer per assignment, graded beside the solution on both devices.
WRONG = {
    "sequence_models": ("latent_update", "def latent_update(h, x, W_hh, W_ih):\n    return h @ W_hh + x @ W_ih.T"),
    "rnn": ("rnn_cell", "def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity='tanh'):\n"
                        "    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T)"),
    "lstm": ("forget_gate", "def forget_gate(x, h, W_if, W_hf, b_if, b_hf):\n"
                            "    return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_hf)"),
    "gru": ("gru_candidate", "def gru_candidate(x, h, r, W_in, W_hn, b_in, b_hn):\n"
                             "    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)"),
}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
def test_the_gpu_gives_the_cpu_grades_with_tf32_off(tmp_path):
    """The four solutions and one wrong answer each, graded on CUDA and on the CPU: the same points per part."""
    course_dir = tmp_path / "course"
    make_course(course_dir, list(WRONG), seed=7)
    runtime = tmp_path / "runtime"
    sandbox.ensure_runtime(runtime)
    jobs = []
    for assignment, (grade_id, answer) in WRONG.items():
        release = nbformat.read(course_dir / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        source = course_dir / "source" / assignment / f"{assignment}.ipynb"
        solved = solved_copy(release, nbformat.read(source, as_version=4))
        for student, notebook in (("solved", solved), ("wrong", with_answer(solved, grade_id, answer))):
            path = course_dir / "submitted" / student / assignment / f"{assignment}.ipynb"
            write_submission(notebook, path)
            jobs.append(GradingJob(student, assignment, str(path), str(source), 7, str(runtime), Limits()))
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        rows = {device: {(job.student, job.assignment): grade_one(replace(job, device=device)) for job in jobs}
                for device in ("cuda", "cpu")}
    finally:
        sandbox.close_servers()
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    for key, on_gpu in rows["cuda"].items():
        on_cpu = rows["cpu"][key]
        assert on_gpu.status == on_cpu.status == "graded", (key, on_gpu.message, on_cpu.message)
        assert [(p.grade_id, p.score) for p in on_gpu.parts] == [(p.grade_id, p.score) for p in on_cpu.parts], key
        solved = key[0] == "solved"
        assert (on_gpu.score == on_gpu.max_score) == solved, (key, on_gpu.message)
