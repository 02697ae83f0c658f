"""`python -m autograder course DIR`: make or update an nbgrader course directory from the repository.

    DIR/nbgrader_config.py   the course's nbgrader configuration (nbgrader's own commands read it too)
    DIR/grading.json         the term seed of the hidden cases and the sandbox limits (instructor only)
    DIR/source/<a>/<a>.ipynb the source notebooks, copied from the repository's solutions/
    DIR/release/<a>/<a>.ipynb the student notebooks, made by nbgrader generate_assignment
    DIR/gradebook.db         nbgrader's gradebook (sqlite unless the config names another database)

Run again after a change in solutions/: the sources and releases are updated, grading.json and the
gradebook are kept.
"""
import shutil
from pathlib import Path

from nbgrader.converters import GenerateAssignment

from autograder.nbgrader.course import (ASSIGNMENTS, DEFAULT_CONFIG, REPO_ROOT, course_directory,
                                        load_course_config, run_step)
from .config import ensure_grading_config

CONFIG_NAME = "nbgrader_config.py"


def course_config_text(config_path=DEFAULT_CONFIG):
    """The package's nbgrader config with nbgrader's default folder names (source/, release/)."""
    text = Path(config_path).read_text()
    text = text.replace('c.CourseDirectory.source_directory = "solutions"', 'c.CourseDirectory.source_directory = "source"')
    text = text.replace('c.CourseDirectory.release_directory = "exercises"', 'c.CourseDirectory.release_directory = "release"')
    return text


def make_course(course_dir, assignments=ASSIGNMENTS, seed=None, solutions=REPO_ROOT / "solutions",
                config_template=DEFAULT_CONFIG):
    """Create or update the course directory; returns (CourseDirectory, nbgrader config, GradingConfig).

    The nbgrader config is written from `config_template` the first time and kept afterwards."""
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    config_path = course_dir / CONFIG_NAME
    if not config_path.exists():
        config_path.write_text(course_config_text(config_template))
    config = load_course_config(config_path)
    grading = ensure_grading_config(course_dir, seed)
    source_root = course_dir / config.CourseDirectory.source_directory
    for assignment in assignments:
        target = source_root / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(Path(solutions) / assignment, target,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    coursedir = course_directory(course_dir, config)
    for assignment in assignments:
        run_step(GenerateAssignment, coursedir, config, assignment)
    return coursedir, config, grading
