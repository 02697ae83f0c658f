"""The instructor's grading configuration of a course: `grading.json` in the course directory.

    {"seed": 480213337, "device": "auto", "limits": {"memory_mb": 2048, "submission_seconds": 300, ...}}

`seed` is the term seed every hidden case derives from (autograder.checks.cases.case_seed). It lives only in
the course directory, never in the published package, so a student who installs the course cannot read
the hidden inputs; `python -m autograder course DIR` writes a random one the first time. Set a new one
for each term (any integer), before the first submission is graded.
"""
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .sandbox import Limits

FILE_NAME = "grading.json"
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class GradingConfig:
    seed: int
    device: str = "auto"
    limits: Limits = field(default_factory=Limits)

    def to_json(self):
        return {"seed": self.seed, "device": self.device, "limits": asdict(self.limits)}


class GradingConfigError(ValueError):
    """grading.json is missing a setting or holds a wrong one."""


def load_grading_config(course_dir):
    path = Path(course_dir) / FILE_NAME
    if not path.is_file():
        raise GradingConfigError(f"{path} not found: run `python -m autograder course {course_dir}` first")
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise GradingConfigError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("seed"), int) or isinstance(data.get("seed"), bool):
        raise GradingConfigError(f"{path}: \"seed\" must be an integer")
    unknown = set(data) - {"seed", "device", "limits"}
    if unknown:
        raise GradingConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    device = data.get("device", "auto")
    if device not in DEVICES:
        raise GradingConfigError(f"{path}: \"device\" must be one of {', '.join(DEVICES)}")
    try:
        limits = Limits.from_json(data.get("limits", {}))
    except (TypeError, ValueError) as error:
        raise GradingConfigError(f"{path}: {error}") from error
    return GradingConfig(data["seed"], device, limits)


def ensure_grading_config(course_dir, seed=None):
    """Write grading.json with a random term seed (or `seed`) unless it exists; return the config."""
    path = Path(course_dir) / FILE_NAME
    if not path.exists():
        config = GradingConfig(seed if seed is not None else secrets.randbelow(2**31 - 1))
        path.write_text(json.dumps(config.to_json(), indent=2) + "\n")
        path.chmod(0o600)
    return load_grading_config(course_dir)
