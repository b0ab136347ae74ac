"""The README's and the docs' measured figures are rendered from benchmarks/results/.

``benchmarks/render_docs.py`` writes the ``docs/user_guide/*.txt`` fragments
that the pages include and the regions of the README and the model card
between ``<!-- rendered: NAME -->`` and ``<!-- end: NAME -->``; a committed
one that differs from what the results render (a figure typed or edited by
hand, or results added without rendering) fails here.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RENDER = ROOT / "benchmarks" / "render_docs.py"
#: Every fragment the script writes: it marks each as rendered.
FRAGMENTS = sorted(
    path.name
    for path in (ROOT / "docs" / "user_guide").glob("*.txt")
    if path.read_text().startswith(".. Rendered by benchmarks/render_docs.py")
)
MARKDOWN = {
    "README.md": ROOT / "README.md",
    "README-data.md": ROOT / "skdeepbiq" / "data" / "README.md",
}


def render(*args):
    return subprocess.run(
        [sys.executable, str(RENDER), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_every_fragment_is_found_and_included_by_a_page():
    assert "your_photos_large.txt" in FRAGMENTS and "accuracy_untuned.txt" in FRAGMENTS
    pages = "".join(
        page.read_text() for page in (ROOT / "docs").rglob("*.rst")
        if "auto_examples" not in page.parts
    )  # fmt: skip
    assert [name for name in FRAGMENTS if f".. include:: {name}" not in pages] == []


def test_committed_fragments_are_what_the_results_render():
    done = render("--check")
    assert done.returncode == 0, done.stderr


def copies(tmp_path):
    for name in FRAGMENTS:
        shutil.copy(ROOT / "docs" / "user_guide" / name, tmp_path / name)
    for name, path in MARKDOWN.items():
        shutil.copy(path, tmp_path / name)
    return ("--check", "--pages", tmp_path, "--markdown", tmp_path)


def test_a_fragment_edited_by_hand_fails_the_check_naming_it(tmp_path):
    arguments = copies(tmp_path)
    assert render(*arguments).returncode == 0
    edited = tmp_path / "your_photos_large.txt"
    text = edited.read_text()
    edited.write_text(text.replace("1.0", "0.9", 1))
    assert edited.read_text() != text
    done = render(*arguments)
    assert done.returncode == 1
    assert "your_photos_large.txt" in done.stderr
    assert "your_photos_scale.txt" not in done.stderr


@pytest.mark.parametrize("region", ["samples", "accuracy", "speed"])
def test_a_figure_typed_into_a_readme_region_fails_the_check(tmp_path, region):
    arguments = copies(tmp_path)
    readme = tmp_path / "README.md"
    text = readme.read_text()
    start = text.index(f"<!-- rendered: {region} -->")
    end = text.index(f"<!-- end: {region} -->")
    inside = re.sub(  # one digit of the first figure changed
        r"(\d)\.(\d)",
        lambda match: f"{match[1]}.{(int(match[2]) + 1) % 10}",
        text[start:end],
        count=1,
    )
    assert inside != text[start:end], "the region holds no figure"
    readme.write_text(text[:start] + inside + text[end:])
    done = render(*arguments)
    assert done.returncode == 1
    assert "README.md" in done.stderr and "README-data.md" not in done.stderr


def test_the_readme_is_a_front_page():
    # a newcomer reads it in two minutes; the docs hold the rest
    assert len(MARKDOWN["README.md"].read_text().splitlines()) <= 200


def test_every_rendered_fragment_is_included_by_a_page():
    pages = "".join(path.read_text() for path in (ROOT / "docs").rglob("*.rst"))
    for name in FRAGMENTS:
        assert f".. include:: {name}" in pages
