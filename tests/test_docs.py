"""The documentation keeps up with the code: API pages, gallery, command line.

Cheap checks of the sources only; the full build (``python -m sphinx -W
--keep-going -b html docs docs/_build/html``, every example executed) runs in
``.ci/run``.
"""

import argparse
import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))

#: Modules whose ``__all__`` must be in the API reference.
DOCUMENTED_MODULES = (
    "skdeepbiq",
    "skdeepbiq.metrics",
    "skdeepbiq.datasets",
    "skdeepbiq.model_selection",
    "skdeepbiq.reproduce",
    "skdeepbiq.weights",
    "skdeepbiq.plotting",
    "skdeepbiq.dask",
)
#: Public names deliberately left out of the API reference.
UNDOCUMENTED = {
    "skdeepbiq": {"__version__"},
    # The command line's plumbing, documented as the command itself.
}


def api_entries() -> dict[str, set[str]]:
    """Names listed in docs/api.rst, by the ``currentmodule`` they are under."""
    entries: dict[str, set[str]] = {}
    module = None
    for line in (DOCS / "api.rst").read_text().splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
        elif module and re.fullmatch(r"   [A-Za-z_][A-Za-z0-9_]*", line):
            entries.setdefault(module, set()).add(line.strip())
    return entries


@pytest.mark.parametrize("module_name", DOCUMENTED_MODULES)
def test_api_reference_lists_every_public_name(module_name):
    module = importlib.import_module(module_name)
    public = set(module.__all__) - UNDOCUMENTED.get(module_name, set())
    missing = public - api_entries().get(module_name, set())
    assert not missing, f"add {sorted(missing)} of {module_name} to docs/api.rst"


def test_api_reference_lists_every_exception_class():
    from skdeepbiq import exceptions

    public = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type)
        and value.__module__ == exceptions.__name__
        and not name.startswith("_")
    }
    missing = public - api_entries().get("skdeepbiq.exceptions", set())
    assert not missing, f"add {sorted(missing)} to docs/api.rst"


def test_api_reference_names_exist():
    for module_name, names in api_entries().items():
        module = importlib.import_module(module_name)
        unknown = [name for name in names if not hasattr(module, name)]
        assert not unknown, f"docs/api.rst lists {unknown} not in {module_name}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_gallery_example_has_title_and_cells(path):
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring, f"{path.name} needs a title docstring"
    over, title, under = docstring.strip("\n").splitlines()[:3]
    assert set(over) == {"="} and set(under) == {"="}, "title needs = over and under"
    assert len(over) >= len(title) and len(under) >= len(title), (
        f"{path.name}: the = lines must be as long as the title {title!r}"
    )
    assert "\n# %%\n" in source, f"{path.name} needs '# %%' cells"


def sphinx_extension(name: str):
    """A module of docs/sphinxext, imported without keeping it on sys.path."""
    sys.path.insert(0, str(DOCS / "sphinxext"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(DOCS / "sphinxext"))


def test_gallery_order_lists_every_example_once():
    order = sphinx_extension("gallery_order").ORDER
    assert len(order) == len(set(order))
    assert sorted(order) == sorted(path.name for path in EXAMPLES), (
        "docs/sphinxext/gallery_order.py must list every examples/plot_*.py"
    )


def test_command_line_page_shows_every_command():
    from skdeepbiq.cli import build_parser

    parser = build_parser()
    (commands,) = [
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    page = (DOCS / "user_guide" / "cli.rst").read_text()
    shown = set(re.findall(r"\.\. skdeepbiq-help:: (\w+)", page))
    assert shown == set(commands), f"docs/user_guide/cli.rst shows {sorted(shown)}"


def test_command_line_help_directive_renders_each_command():
    command_help = sphinx_extension("cli_help").command_help
    assert command_help([]).startswith("usage: skdeepbiq")
    assert command_help(["weights", "fetch"]).startswith(
        "usage: skdeepbiq weights fetch"
    )
    with pytest.raises(ValueError, match="no command"):
        command_help(["no-such-command"])


def readme_recipe() -> list[str]:
    """The commands of the README's one-command recipe, each split into words."""
    import shlex

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Score photos in one command", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        for command in line.split("#", 1)[0].split("&&"):
            if command.strip():
                commands.append(shlex.split(command))
    return commands


def test_readme_recipe_fetches_the_backbones_of_every_default_model(monkeypatch):
    """After the recipe, score, evaluate, fit and fit --fine-tune all find
    their weights: it fetches the backbone of each command's default."""
    import skdeepbiq.weights
    from skdeepbiq import default_featurizer
    from skdeepbiq._models.pretrained import DEFAULT_PRETRAINED, model_metadata
    from skdeepbiq.cli import main

    commands = readme_recipe()
    assert ["skdeepbiq", "score", "examples/images"] in commands
    fetches = [
        words for words in commands if words[:3] == ["skdeepbiq", "weights", "fetch"]
    ]
    assert fetches, "the recipe fetches no weights"
    fetched = []

    def fetch_weights(backbone, weights="IMAGENET1K_V1", *, verbose=True):
        fetched.append((backbone, weights))
        return f"/cache/{backbone}.pth"

    monkeypatch.setattr(skdeepbiq.weights, "fetch_weights", fetch_weights)
    for words in fetches:
        assert main(words[1:]) == 0
    pretrained = model_metadata(DEFAULT_PRETRAINED)["config"]["featurizer"]
    needed = {
        "fit": default_featurizer(),
        "fit --fine-tune": default_featurizer(fine_tune=True),
    }
    for command, featurizer in needed.items():
        assert (featurizer.backbone, featurizer.weights) in fetched, command
    assert (pretrained["backbone"], pretrained["weights"]) in fetched, "score"
