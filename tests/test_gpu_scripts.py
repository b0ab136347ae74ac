"""The GPU check's shell scripts, as far as they run without a GPU.

``benchmarks/gpu_check.sh`` runs only on the rare sessions lent a CUDA
machine, so a mistake in it would show there, where device time is short.
These tests check what the scripts do here: their bash parses, the dry run
lists every step, and on a machine without CUDA the check says so for each
step and exits 0.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["gpu_check.sh", "make_gpu_payload.sh", "finetune_gpu.sh"]
STEPS = [
    "environment",
    "install",
    "pytest -m cuda",
    "throughput",
    "fine-tuned fit",
    "shipped model",
    "payload",
]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")


def run_script(script, *args, logs):
    """Run a script of benchmarks/ with this Python first on PATH, logs in ``logs``."""
    return subprocess.run(
        ["bash", str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OUT": str(logs)},
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_parses_as_bash(script):
    result = subprocess.run(
        ["bash", "-n", str(ROOT / "benchmarks" / script)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_dry_run_lists_every_step_and_runs_nothing(tmp_path):
    result = run_script("gpu_check.sh", "--dry-run", logs=tmp_path)
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("== skdeepbiq GPU check")[1]
    for step in STEPS:
        assert step in table
    assert "skdeepbiq score --device cuda" in table
    assert not list(tmp_path.iterdir())  # no step wrote a log


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_without_cuda_the_check_reports_each_step_and_succeeds(tmp_path):
    result = run_script("gpu_check.sh", "--payload", "no-such-payload", logs=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = result.stdout.split("== skdeepbiq GPU check: no CUDA")[1].splitlines()
    for step in ["install", "pytest -m cuda", "fine-tuned fit", "shipped model"]:
        row = next(row for row in rows if row.startswith(step))
        assert "no CUDA" in row


def test_an_unknown_option_is_refused_with_status_2(tmp_path):
    result = run_script("gpu_check.sh", "--no-such-option", logs=tmp_path)
    assert result.returncode == 2
    assert "--no-such-option" in result.stderr
