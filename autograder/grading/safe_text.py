"""Text that came from a submission, made safe for every place it reaches: a status row, the terminal, the
HTML report, the feedback, the LMS CSV.

- `clean(text, limit)`: at most `limit` characters; C0 and C1 control characters (but newline and tab),
  DEL and the Unicode direction overrides removed, so nothing a student typed can move the instructor's
  cursor, recolour a terminal, rewrite a line or reorder what is shown;
- `printable(name)`: a one-line form of a name (a student id is a folder name the student may choose):
  control characters shown as escapes (\\x1b), never executed;
- `csv_cell(value)`: a cell an LMS or a spreadsheet reads as text, never as a formula (a leading
  = + - @, tab or carriage return gets a leading apostrophe);
- `redact_numbers(text)`: every digit replaced by `#` (a student's exception text may echo the hidden
  inputs it was given).
HTML escaping happens where HTML is written (autograder.grading.report, nbconvert for the feedback).
"""
import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_DIGITS = re.compile(r"\d")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def clean(text, limit=2000):
    text = _CONTROL.sub("", str(text))
    return text if len(text) <= limit else text[:limit] + " [...]"


def printable(name, limit=80):
    escaped = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(name))
    escaped = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), escaped)
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."


def csv_cell(value):
    if not isinstance(value, str):
        return value
    value = clean(value, 10_000)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def redact_numbers(text):
    return _DIGITS.sub("#", text)
