"""The bench scripts run and end with their RESULT line (tiny N: figures are not asserted)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(name, *args):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / name), *args],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_render_bench_prints_its_result_line():
    last = run_bench("render.py", "--n", "300")
    assert re.fullmatch(r"RESULT messages_per_s=\d+ ratio_to_floor=\d+\.\d+", last), last
