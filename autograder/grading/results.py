"""What grading one submission produces: plain data, picklable, the same in every mode (local, Dask)."""
from dataclasses import asdict, dataclass, field

from .safe_text import printable

# Every submission ends with exactly one of these statuses.
STATUSES = {
    "graded": "graded",
    "flagged": "graded, but the answer cells do something a person must review: scored 0 until a person "
               "accepts it (`python -m autograder review`)",
    "refused": "used a framework kernel it had to implement (no credit for that part), or a submission file "
               "the grader does not read (a link, a FIFO, a device)",
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
    checks_score: float | None = None  # flagged: what the checks gave, credited only if a person accepts it


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
    findings: list = field(default_factory=list)  # flagged: the lines a person should look at
    checks_score: float | None = None   # flagged: the score the checks alone give
    review: str = ""           # "accepted" | "rejected" once a person decided (python -m autograder review)
    review_note: str = ""

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        data["parts"] = [PartResult(**p) for p in data.get("parts", [])]
        return cls(**data)


def format_table(rows):
    """The status rows as a plain-text table (student ids and messages made printable: no control bytes)."""
    header = ("student", "assignment", "score", "status")
    lines = [(printable(r.student), r.assignment, f"{r.score:g}/{r.max_score:g}",
              r.status + (f": {printable(r.message, 2000)}" if r.message else "")) for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header[:3])]
    out = ["  ".join(h.ljust(w) for h, w in zip(header[:3], widths)) + "  " + header[3]]
    out += ["  ".join(c.ljust(w) for c, w in zip(line[:3], widths)) + "  " + line[3] for line in lines]
    return "\n".join(out)
