"""Load the course's nbgrader config strictly and run nbgrader steps in-process with it.

``nbgrader``'s own command line swallows errors in ``nbgrader_config.py`` (logs them, exits 0, runs on
defaults). Here a config that does not load, names an unknown class or option, or lacks a setting the
course relies on raises :class:`CourseConfigError`, so every command built on this module fails loudly.
"""
import inspect
import logging
import os
import shutil
import sys
import warnings
from pathlib import Path

import nbconvert.exporters
import nbconvert.preprocessors
from nbgrader import apps, auth, converters, exchange, plugins, preprocessors
from nbgrader.coursedir import CourseDirectory
from nbgrader.validator import Validator
from traitlets.config import Configurable
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from .feedback import ShortTracebacks

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = Path(__file__).with_name("nbgrader_config.py")
ASSIGNMENTS = ("sequence_models", "rnn", "lstm", "gru", "char_lm")


def _put_interpreter_scripts_on_path():
    """nbgrader's gradebook runs the ``alembic`` script by name; find it next to this interpreter
    even when the virtual environment is not activated (``.venv/bin/python -m ...``)."""
    scripts = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


_put_interpreter_scripts_on_path()


class CourseConfigError(RuntimeError):
    """The nbgrader config of the course is broken or incomplete."""


def _configurable_options():
    """{class name: config options} of every class an nbgrader config may configure.

    Keyed by name, as traitlets matches config sections: nbgrader has two classes called Exchange (the
    abstract one and the default one), and a section configures both.
    """
    modules = (converters, preprocessors, plugins, apps, exchange, exchange.default, auth,
               nbconvert.preprocessors, nbconvert.exporters)
    classes = [CourseDirectory, Validator, ShortTracebacks]
    for module in modules:
        classes += [obj for obj in vars(module).values()
                    if inspect.isclass(obj) and issubclass(obj, Configurable)]
    options = {}
    for cls in classes:
        options.setdefault(cls.__name__, set()).update(cls.class_traits(config=True))
    return options


def check_config(config, source="config"):
    """Raise CourseConfigError for unknown sections/options or a setting the course needs but lacks."""
    known = _configurable_options()
    for section, options in config.items():
        if section not in known:
            raise CourseConfigError(f"{source}: unknown config section c.{section} (a typo?)")
        for option in options:
            if option not in known[section]:
                raise CourseConfigError(f"{source}: {section} has no option {option!r} (a typo?)")
    if not config.CourseDirectory.get("course_id"):
        raise CourseConfigError(f"{source}: c.CourseDirectory.course_id must be set")
    if "timeout" not in config.Execute:
        raise CourseConfigError(f"{source}: c.Execute.timeout must be set (per-cell grading time limit)")
    feedback = [getattr(p, "__name__", p) for p in config.GenerateFeedback.get("preprocessors", [])]
    for required in ("ClearHiddenTests", "ShortTracebacks"):
        if not any(str(name).endswith(required) for name in feedback):
            raise CourseConfigError(
                f"{source}: c.GenerateFeedback.preprocessors must include {required}, "
                "otherwise the feedback shows the hidden tests")


def load_course_config(path=DEFAULT_CONFIG):
    """The traitlets Config of ``path``; raises CourseConfigError if it cannot be used."""
    path = Path(path).resolve()
    if not path.is_file():
        raise CourseConfigError(f"nbgrader config not found: {path}")
    try:
        config = PyFileConfigLoader(path.name, str(path.parent)).load_config()
    except Exception as error:  # any error in a config file is fatal here, whatever its type
        raise CourseConfigError(f"{path} does not load: {type(error).__name__}: {error}") from error
    check_config(config, source=str(path))
    return config


def course_directory(root, config, db_url=None):
    """A CourseDirectory rooted at ``root`` (sqlite gradebook inside it unless db_url is given)."""
    coursedir = CourseDirectory(config=config, root=str(Path(root).resolve()))
    if db_url is not None:
        coursedir.db_url = db_url
    return coursedir


def run_step(converter_class, coursedir, config, assignment_id, student_id="*"):
    """Run one nbgrader converter (GenerateAssignment, Autograde, GenerateFeedback) like its command."""
    previous = coursedir.assignment_id, coursedir.student_id
    coursedir.assignment_id, coursedir.student_id = assignment_id, student_id
    try:
        converter = converter_class(coursedir=coursedir, config=config, log=logging.getLogger("nbgrader"))
        converter.force = True
        converter.start()
    finally:
        coursedir.assignment_id, coursedir.student_id = previous


def validate_notebook(path, config):
    """nbgrader validate with every code cell checked; returns a list of problems (empty when valid)."""
    validator = Validator(config=config)
    validator.validate_all = True
    results = validator.validate(str(path))
    problems = []
    for kind in ("type_changed", "changed", "failed"):
        for cell in results.get(kind, []):
            detail = cell.get("raw_error") or cell["source"][:200]
            problems.append(f"{kind}: {detail}")
    return problems


def quiet_nbgrader_logs():
    """Keep nbgrader's expected noise out of the output; errors still show.

    With hidden tests every test cell's checksum differs from the release ("checksum has changed"), and
    nbgrader's gradebook emits SQLAlchemy session warnings; the callers print what matters.
    """
    logging.getLogger("nbgrader").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=SAWarning)
