"""What grading one submission produces: plain data, picklable, the same in every mode (local, Dask)."""
from dataclasses import asdict, dataclass, field

# Every submission ends with exactly one of these statuses.
STATUSES = {
    "graded": "graded",
    "flagged": "graded, but the answer cells do something a person must review; scored 0 until cleared",
    "refused": "used a framework kernel it had to implement; no credit for that part",
    "timeout": "ran past the time limit",
    "oom": "ran past the memory limit",
    "crashed": "the sandbox ended without a result",
    "invalid": "the notebook cannot be read",
    "missing": "no notebook of that name",
    "tampered": "grade cells deleted, duplicated, reordered or changed in type",
    "error": "the grader itself failed on this submission (a bug to report)",
}
# The statuses of a submission that was graded (its score stands); any other could not be graded.
GRADED = {"graded", "flagged", "refused"}


@dataclass
class PartResult:
    """One graded part (an nbgrader test cell)."""
    grade_id: str
    check_id: str
    score: float
    max_score: float
    message: str = ""          # the verdict shown in feedback
    hint: str | None = None    # the diagnosed likely mistake, when one was recognised


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: str
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    parts: list = field(default_factory=list)   # [PartResult]
    fingerprint: str = ""      # hash of the submitted file, to regrade only what changed

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        data["parts"] = [PartResult(**p) for p in data.get("parts", [])]
        return cls(**data)
