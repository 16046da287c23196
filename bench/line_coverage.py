"""Every line of the critical modules reached by a test, on SQLite or on PostgreSQL.

Runs the tests listed for the critical modules in ``pyproject.toml``
(``[tool.designer.mutation.modules]``, the ones mutation testing uses) under
pytest-cov twice: on the embedded defaults (SQLite, embedded Redis) and on
the PostgreSQL database and Redis that ``TEST_DATABASE_URL`` and
``TEST_REDIS_URL`` name, each into a coverage file of its own under
``.coverage-check/``. A line counts as reached when either run reached it;
the lines only the PostgreSQL run reached are that module's PostgreSQL-only
code (the README names them).

    TEST_DATABASE_URL=postgresql://… TEST_REDIS_URL=redis://… \\
        python bench/line_coverage.py [--only sandbox ledger ...] [--report]

One line per module: ``RESULT module=<path> lines=<n> missed=<n>
postgresql_only=<lines> missing=<lines>``, then ``RESULT module=total lines=…
missed=…``. It exits 1 when a line of a module is reached by neither run, or
when no PostgreSQL database is named (half the check could not run).
"""

import argparse
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".coverage-check"


def critical_modules(only):
    """``{path: [test files]}`` of the critical modules (all, or those matching ``only``)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = pyproject["tool"]["designer"]["mutation"]["modules"]
    return {
        path: settings["tests"]
        for path, settings in listed.items()
        if not only or any(word in path for word in only)
    }


def measure(data_file, tests, database):
    """Run ``tests`` under pytest-cov into ``data_file``; PostgreSQL when ``database``."""
    env = dict(os.environ, COVERAGE_FILE=str(data_file))
    if not database:
        env.pop("TEST_DATABASE_URL", None)
        env.pop("TEST_REDIS_URL", None)
    data_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-m", "not browser", "--cov=designer", "--cov-report=", *tests]
    print(f"-- {'PostgreSQL' if database else 'SQLite'}: {' '.join(tests)}", flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=False)


def missing(data_file, path):
    """``(statements, missing)`` of ``path`` in ``data_file`` (every statement missing
    when the run never imported it)."""
    import coverage  # `make coverage` installs it; the test suite reads this module without it

    measured = coverage.Coverage(data_file=str(data_file))
    measured.load()
    _, statements, _, unreached, _ = measured.analysis2(str(ROOT / path))
    return set(statements), set(unreached)


def ranges(lines):
    """``"3-5,9"`` for lines 3, 4, 5 and 9; ``"-"`` for none."""
    spans, ordered = [], sorted(lines)
    for line in ordered:
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in spans) or "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="modules whose path contains one of these")
    parser.add_argument("--report", action="store_true", help="report the last run's files")
    args = parser.parse_args()
    modules = critical_modules(args.only)
    tests = sorted({test for files in modules.values() for test in files})
    WORK.mkdir(exist_ok=True)
    runs = {"sqlite": WORK / "sqlite", "postgresql": WORK / "postgresql"}
    postgresql = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")
    if args.report:
        postgresql = runs["postgresql"].exists()
    else:
        measure(runs["sqlite"], tests, database=False)
        if postgresql:
            measure(runs["postgresql"], tests, database=True)
    total_lines = total_missed = 0
    for path in modules:
        statements, unreached = missing(runs["sqlite"], path)
        only_postgresql = set()
        if postgresql:
            _, unreached_postgresql = missing(runs["postgresql"], path)
            only_postgresql = unreached - unreached_postgresql
            unreached &= unreached_postgresql
        total_lines, total_missed = total_lines + len(statements), total_missed + len(unreached)
        print(
            f"RESULT module={path} lines={len(statements)} missed={len(unreached)} "
            f"postgresql_only={ranges(only_postgresql)} missing={ranges(unreached)}",
            flush=True,
        )
    print(f"RESULT module=total lines={total_lines} missed={total_missed}", flush=True)
    if not postgresql:
        print("no PostgreSQL run: set TEST_DATABASE_URL (and TEST_REDIS_URL)", file=sys.stderr)
    sys.exit(0 if total_missed == 0 and postgresql else 1)


if __name__ == "__main__":
    main()
