"""The package's shape, read from its source (AST), without importing it.

- each estimator stands whole in its file: no base class of the package that
  only one class uses (single-use mixins);
- estimators take their parameters by keyword after the first, as
  scikit-learn's do;
- imports go down the layers (exceptions, the torch engine, fine-tuning, the
  estimators, model files, the paper's protocols, the public front), lazy
  imports inside functions included, and never round in a cycle;
- only torchvision's public modules are used.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skdeepbiq"

#: Layers from the bottom; a module may import its own layer and those below.
LAYERS = [
    ("skdeepbiq.exceptions", "skdeepbiq._version"),
    ("skdeepbiq._engine", "skdeepbiq.metrics", "skdeepbiq.model_selection",
     "skdeepbiq.datasets"),
    ("skdeepbiq._finetuning",),
    ("skdeepbiq._featurizer", "skdeepbiq._pooling", "skdeepbiq._precomputed",
     "skdeepbiq._regressor",
     "skdeepbiq._fingerprint", "skdeepbiq._maps", "skdeepbiq._conformal"),
    ("skdeepbiq._models",),
    ("skdeepbiq._paper",),
    ("skdeepbiq.reproduce", "skdeepbiq.weights", "skdeepbiq.plotting",
     "skdeepbiq.dask", "skdeepbiq.cli", "skdeepbiq.__main__"),
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


def layer(module: str) -> int:
    if module == "skdeepbiq":  # the front: public names, imported lazily
        return len(LAYERS) - 1
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer of this test: add it")


def type_checking_nodes(tree) -> set:
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            nodes |= {id(inner) for inner in ast.walk(node)}
    return nodes


def imports() -> dict:
    """Module -> the package's modules it imports, at import time or lazily."""
    graph = defaultdict(set)
    for name, tree in TREES.items():
        package = (
            name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
        )
        hidden = type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "skdeepbiq":
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    graph[name].add(full if full in MODULES else target)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "skdeepbiq":
                        graph[name].add(alias.name)
        graph[name].discard(name)
    return graph


def test_every_module_is_in_a_layer():
    for name in MODULES:
        layer(name)


def test_imports_go_down_the_layers_only():
    upward = [
        f"{module} imports {target}"
        for module, targets in imports().items()
        for target in targets
        if layer(target) > layer(module)
    ]
    assert upward == []


def test_no_import_cycle_lazy_imports_included():
    graph = imports()
    state, cycles = {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_base_class_of_the_package_serves_only_one_class():
    defined = {}
    users = defaultdict(list)
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                defined[node.name] = name
                for base in node.bases:
                    base_name = getattr(base, "id", getattr(base, "attr", None))
                    users[base_name].append(f"{name}.{node.name}")
    single = {
        f"{defined[base]}.{base}": subclasses
        for base, subclasses in users.items()
        if base in defined and len(subclasses) == 1
    }
    assert single == {}


def estimator_inits():
    """(class, __init__) of each class that declares _parameter_constraints."""
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            body = {
                getattr(target, "id", None)
                for item in node.body
                if isinstance(item, ast.AnnAssign | ast.Assign)
                for target in (
                    item.targets if isinstance(item, ast.Assign) else [item.target]
                )
            }
            init = next(
                (
                    item
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__"
                ),
                None,
            )
            if "_parameter_constraints" in body and init is not None:
                yield f"{name}.{node.name}", init


@pytest.mark.parametrize(("name", "init"), list(estimator_inits()))
def test_estimator_parameters_are_keyword_only_after_the_first(name, init):
    positional = [arg.arg for arg in init.args.args[1:]]
    assert len(positional) <= 1, f"{name}({', '.join(positional)}, ...)"


def test_the_estimators_are_checked_by_the_keyword_only_test():
    checked = {name.rpartition(".")[2] for name, _ in estimator_inits()}
    assert {"CNNCropFeaturizer", "DeepBIQRegressor", "FineTuning"} <= checked


def absolute_imports(tree, *, with_names=False) -> list[str]:
    """The modules a tree imports absolutely; with ``with_names``, also each
    ``from module import name`` as ``module.name``."""
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level:
            modules.append(node.module or "")
            if with_names:
                modules += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
    return modules


def test_only_public_torchvision_modules_are_imported():
    private = []
    for name, tree in TREES.items():
        for module in absolute_imports(tree):
            parts = module.split(".")
            if parts[0] == "torchvision" and any(p.startswith("_") for p in parts):
                private.append(f"{name} imports {module}")
    assert private == []


#: Maintenance scripts that write the package's own files, and so reach into
#: the private modules that define those files (each says so in its docstring).
MAINTENANCE_SCRIPTS = {"add_training_fingerprints.py"}


def test_benchmarks_use_the_public_api_only():
    benchmarks = PACKAGE.parent / "benchmarks"
    private = []
    for path in sorted(benchmarks.glob("*.py")):
        if path.name in MAINTENANCE_SCRIPTS:
            continue
        tree = ast.parse(path.read_text())
        for module in absolute_imports(tree, with_names=True):
            parts = module.split(".")
            hidden = [p for p in parts if p.startswith("_") and not p.endswith("__")]
            if parts[0] == "skdeepbiq" and hidden:
                private.append(f"{path.name} imports {module}")
    assert private == []
