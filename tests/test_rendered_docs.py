"""The documentation's measured tables are rendered from benchmarks/results/.

``benchmarks/render_docs.py`` writes the ``docs/user_guide/*.txt`` fragments
that the pages include; a committed fragment that differs from what the
results render (a figure typed or edited by hand, or results added without
rendering) fails here.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RENDER = ROOT / "benchmarks" / "render_docs.py"
FRAGMENTS = ["your_photos_large.txt", "your_photos_scale.txt", "your_photos_busy.txt"]


def render(*args):
    return subprocess.run(
        [sys.executable, str(RENDER), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_committed_fragments_are_what_the_results_render():
    done = render("--check")
    assert done.returncode == 0, done.stderr


def test_a_fragment_edited_by_hand_fails_the_check_naming_it(tmp_path):
    for name in FRAGMENTS:
        shutil.copy(ROOT / "docs" / "user_guide" / name, tmp_path / name)
    edited = tmp_path / "your_photos_large.txt"
    text = edited.read_text()
    edited.write_text(text.replace("1.0", "0.9", 1))
    assert edited.read_text() != text
    done = render("--check", "--pages", tmp_path)
    assert done.returncode == 1
    assert "your_photos_large.txt" in done.stderr
    assert "your_photos_scale.txt" not in done.stderr


def test_every_rendered_fragment_is_included_by_a_page():
    pages = "".join(path.read_text() for path in (ROOT / "docs").rglob("*.rst"))
    for name in FRAGMENTS:
        assert f".. include:: {name}" in pages
