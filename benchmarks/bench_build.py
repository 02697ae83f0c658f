"""Book build timings: cold build and warm (cached) rebuild, next to their goals.

    python benchmarks/bench_build.py [--book PATH] [--keep]

The book (the working tree's files that git tracks or would track, plus the vendored assets from
`make vendor`) is copied to a scratch folder, so the repository's own _build is left alone. There:

- cold: `jupyter-book build -W -n --keep-going` with no _build at all (every page executed);
- warm: the HTML, doctrees and executed notebooks removed, the execution cache kept, built again (every
  page read and written, no cell executed): the rebuild after `jupyter-book clean`;
- unchanged: built once more with nothing changed (Sphinx finds nothing out of date).

Exits non-zero when a build fails (a timing of a failed build means nothing).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
SITE_ASSETS = Path("_build") / "site_assets"  # html_extra_path in _config.yml, filled by `make vendor`
# Removed before the warm build: everything a build writes except the execution cache and the assets.
BUILD_OUTPUTS = ["html", ".doctrees", "jupyter_execute"]
GOALS_S = {"cold": 180.0, "warm": 20.0}
EXECUTED = re.compile(r"(\S+): Executed notebook in ([0-9.]+) seconds")
SLOWEST_SHOWN = 5


class BuildFailed(RuntimeError):
    pass


def working_tree_files(book: Path) -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=book, check=True, capture_output=True, text=True,
    ).stdout
    files = [Path(name) for name in listing.split("\0") if name and (book / name).is_file()]
    return [path for path in files if path.parts[0] != "_build"]  # a cold build starts with no cache


def copy_book(book: Path, destination: Path) -> None:
    assets = book / SITE_ASSETS
    if not (assets / "vendor" / "require.js").is_file():
        sys.exit(f"{assets} is missing or incomplete: run `make vendor` first.")
    for relative in working_tree_files(book):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(book / relative, target)
    shutil.copytree(assets, destination / SITE_ASSETS)


def timed_build(book: Path, label: str, log_dir: Path) -> float:
    log = log_dir / f"build_{label}.log"
    command = [str(JUPYTER_BOOK), "build", "-W", "-n", "--keep-going", str(book)]
    start = time.perf_counter()
    with log.open("w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(log.read_text()[-4000:], file=sys.stderr)
        raise BuildFailed(f"{label} build failed (exit {result.returncode}) after {elapsed:.1f} s; log: {log}")
    return elapsed


def execution_times(log: Path, book: Path) -> dict[str, float]:
    """Seconds myst-nb spent executing each page, from a build log."""
    return {str(Path(page).relative_to(book)): float(seconds)
            for page, seconds in EXECUTED.findall(log.read_text())}


def report(label: str, seconds: float) -> str:
    goal = GOALS_S.get(label)
    if goal is None:
        return f"{label:<10} {seconds:7.1f} s"
    verdict = "ok" if seconds <= goal else "OVER GOAL"
    return f"{label:<10} {seconds:7.1f} s   (goal <= {goal:.0f} s: {verdict})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=REPO_ROOT, help="book folder (default: this repository)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and the build logs")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench_build_"))
    book = scratch / "book"
    try:
        copy_book(args.book.resolve(), book)
        timings = {"cold": timed_build(book, "cold", scratch)}
        executed = execution_times(scratch / "build_cold.log", book)
        for output in BUILD_OUTPUTS:
            shutil.rmtree(book / "_build" / output, ignore_errors=True)
        timings["warm"] = timed_build(book, "warm", scratch)
        timings["unchanged"] = timed_build(book, "unchanged", scratch)
    except BuildFailed as failure:
        sys.exit(f"{failure} (scratch copy kept in {scratch})")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"jupyter-book build -W -n --keep-going, {args.book.resolve()} copied to a scratch folder")
    for label, seconds in timings.items():
        print(report(label, seconds))
    slowest = sorted(executed.items(), key=lambda item: -item[1])[:SLOWEST_SHOWN]
    print(f"cold: {len(executed)} pages executed in {sum(executed.values()):.1f} s; slowest: "
          + ", ".join(f"{page} {seconds:.1f} s" for page, seconds in slowest))
    if args.keep:
        print(f"scratch copy and logs kept in {scratch}")


if __name__ == "__main__":
    main()
