"""Mutation score of each critical module: how many of its mutants its tests kill.

mutmut (the ``mutation`` extra) changes one small thing at a time in a module
(``<`` for ``<=``, a constant, a dropped argument…) and runs the tests listed
for that module in ``pyproject.toml`` (``[tool.designer.mutation.modules]``)
against each change; a mutant the tests still pass on "survived". Timeouts
count as killed, mutants on lines marked ``# pragma: no mutate`` (equivalent
ones, each with its reason) are not made at all.

Each module runs in a folder of its own under ``.mutation/`` (kept between
runs: mutmut only tests again the mutants of functions that changed), with one
mutmut child process. Modules marked ``postgresql`` run on the database that
``TEST_DATABASE_URL`` names, like the suite.

    python bench/mutation.py [--only sandbox ledger ...] [--survivors]

One line per module: ``RESULT module=<path> score=<killed %> killed=<n> total=<n>
survived=<n> no_tests=<n> seconds=<n>``, then ``RESULT module=total score=… ``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
#: What each module's folder links to (mutmut copies them into its ``mutants/``).
LINKED = ("designer", "workers", "tests", "templates_lib", "static")
MUTMUT = Path(sys.executable).with_name("mutmut")


def modules(pyproject):
    """``{path: settings}`` of the critical modules."""
    return pyproject["tool"]["designer"]["mutation"]["modules"]


def module_config(pyproject, path, tests):
    """The ``[tool.mutmut]`` of one module's folder: the shared keys, its file, its tests."""
    shared = dict(pyproject["tool"]["mutmut"])
    shared["only_mutate"] = [path]
    shared["pytest_add_cli_args_test_selection"] = list(tests)
    lines = ["[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in shared.items()]
    pytest_options = pyproject["tool"]["pytest"]["ini_options"]
    lines.append("[tool.pytest.ini_options]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_options.items()]
    return "\n".join(lines) + "\n"


def prepare(pyproject, path, tests):
    """The folder mutmut runs in for ``path``, with links to the sources and its config."""
    folder = WORK / path.replace("/", "_").removesuffix(".py")
    folder.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    (folder / "pyproject.toml").write_text(module_config(pyproject, path, tests))
    return folder


def run_module(pyproject, path, settings, show_survivors):
    folder = prepare(pyproject, path, settings["tests"])
    started = time.monotonic()
    subprocess.run(
        [str(MUTMUT), "run", "--max-children", "1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.monotonic() - started
    subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=folder, capture_output=True, check=False)
    stats_file = folder / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        print(f"RESULT module={path} score=error seconds={seconds:.0f}", flush=True)
        return None
    stats = json.loads(stats_file.read_text())
    if show_survivors:
        survivors = subprocess.run(
            [str(MUTMUT), "results"], cwd=folder, capture_output=True, text=True, check=False
        )
        print(survivors.stdout, end="", flush=True)
    report(path, stats, seconds)
    return stats


def killed(stats):
    """Mutants the tests caught: failed, or ran past their time."""
    return stats["killed"] + stats["timeout"]


def counted(stats):
    """Mutants that count: every one made, less those mutmut skipped."""
    return stats["total"] - stats["skipped"]


def report(name, stats, seconds):
    total = counted(stats)
    score = 100 * killed(stats) / total if total else 100.0
    print(
        f"RESULT module={name} score={score:.1f} killed={killed(stats)} total={total} "
        f"survived={stats['survived']} no_tests={stats['no_tests']} "
        f"suspicious={stats['suspicious']} seconds={seconds:.0f}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="modules whose path contains one of these")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--clean", action="store_true", help="forget earlier results")
    args = parser.parse_args()
    if not MUTMUT.exists():
        sys.exit("mutmut is not installed: pip install -e '.[mutation]'")
    if args.clean:
        shutil.rmtree(WORK, ignore_errors=True)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    chosen = {
        path: settings
        for path, settings in modules(pyproject).items()
        if not args.only or any(word in path for word in args.only)
    }
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    started = time.monotonic()
    totals = {}
    for path, settings in chosen.items():
        stats = run_module(pyproject, path, settings, args.survivors)
        for key, value in (stats or {}).items():
            totals[key] = totals.get(key, 0) + value
    if totals:
        report("total", totals, time.monotonic() - started)


if __name__ == "__main__":
    main()
