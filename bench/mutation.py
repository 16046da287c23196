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
``TEST_DATABASE_URL`` names, like the suite; the others on the embedded
defaults (a SQLite file and a Redis server of each test run's own).

``--jobs N`` runs N modules at once, in lanes: lane 0 uses the PostgreSQL
database and Redis database that ``TEST_DATABASE_URL`` and ``TEST_REDIS_URL``
name, lane ``i`` the database ``<name>_lane<i>`` (each made when missing) and the
Redis database ``<number> + i``, so no two mutants share data.

    python bench/mutation.py [--only sandbox ledger ...] [--survivors] [--jobs 2]

One line per module: ``RESULT module=<path> score=<killed %> killed=<n> total=<n>
survived=<n> no_tests=<n> seconds=<n>``, then ``RESULT module=total score=… ``.
"""

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
#: What each module's folder links to (mutmut copies them into its ``mutants/``).
LINKED = ("designer", "workers", "tests", "templates_lib", "static")
MUTMUT = Path(sys.executable).with_name("mutmut")
#: Printing from the lanes, one module's lines at a time.
OUTPUT = threading.Lock()


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


def lane_url(url, lane, kind):
    """``url`` for lane ``lane``: a database name suffixed, or a Redis database number added."""
    if lane == 0:
        return url
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    path = f"/{int(name or 0) + lane}" if kind == "redis" else f"/{name}_lane{lane}"
    return urlunsplit(parts._replace(path=path))


def create_database(url):
    """Make the PostgreSQL database ``url`` names when it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def module_env(settings, lane, environ=os.environ):
    """The environment of a module's mutmut: its lane's PostgreSQL and Redis, or the embedded ones."""
    env = dict(environ)
    database, redis = env.pop("TEST_DATABASE_URL", None), env.pop("TEST_REDIS_URL", None)
    if settings.get("postgresql") and database:
        env["TEST_DATABASE_URL"] = lane_url(database, lane, "postgresql")
        if redis:
            env["TEST_REDIS_URL"] = lane_url(redis, lane, "redis")
    return env


def run_module(pyproject, path, settings, show_survivors, lane=0):
    folder = prepare(pyproject, path, settings["tests"])
    env = module_env(settings, lane)
    if "TEST_DATABASE_URL" in env:
        create_database(env["TEST_DATABASE_URL"])
    started = time.monotonic()
    subprocess.run(
        [str(MUTMUT), "run", "--max-children", "1"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.monotonic() - started
    subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=folder, capture_output=True, check=False)
    stats_file = folder / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        with OUTPUT:
            print(f"RESULT module={path} score=error seconds={seconds:.0f}", flush=True)
        return None
    stats = json.loads(stats_file.read_text())
    survivors = ""
    if show_survivors:
        survivors = subprocess.run(
            [str(MUTMUT), "results"], cwd=folder, capture_output=True, text=True, check=False
        ).stdout
    with OUTPUT:
        print(survivors, end="", flush=True)
        report(path, stats, seconds)
    return stats


def run_lanes(pyproject, chosen, show_survivors, jobs):
    """Run every chosen module, ``jobs`` at a time in the listed order; their stats."""
    waiting = queue.SimpleQueue()
    for item in chosen.items():
        waiting.put(item)
    results = []

    def lane(number):
        while True:
            try:
                path, settings = waiting.get_nowait()
            except queue.Empty:
                return
            results.append(run_module(pyproject, path, settings, show_survivors, number))

    threads = [threading.Thread(target=lane, args=(number,)) for number in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [stats for stats in results if stats]


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
    parser.add_argument("--jobs", type=int, default=1, help="modules run at once (default 1)")
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
    for stats in run_lanes(pyproject, chosen, args.survivors, max(1, args.jobs)):
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
    if totals:
        report("total", totals, time.monotonic() - started)


if __name__ == "__main__":
    main()
