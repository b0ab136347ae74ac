"""The command line answers --help and usage errors without importing torch,
spells shared options the same in every command, and leaves reproduce()'s
defaults to reproduce()."""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skdeepbiq
from skdeepbiq.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "sklearn", "scipy")

#: Runs ``python -m skdeepbiq ARGS`` in-process, then prints which heavy
#: packages it imported and exits with its code.
PROBE = f"""
import runpy, sys
sys.argv[0] = "skdeepbiq"
code = 0
try:
    runpy.run_module("skdeepbiq", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
print("heavy modules:", loaded, file=sys.stderr)
sys.exit(code)
"""


#: Runs the command line as ``python -m skdeepbiq`` ("module") or as the
#: console script does, ``main()`` ("main"), and prints the environment's
#: OMP_WAIT_POLICY as it was when torch was first imported.
SPY = """
import os, runpy, sys
seen = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.append(os.environ.get("OMP_WAIT_POLICY", "unset"))
sys.meta_path.insert(0, Spy())
entry = sys.argv.pop(1)
sys.argv[0] = "skdeepbiq"
code = 0
try:
    if entry == "module":
        runpy.run_module("skdeepbiq", run_name="__main__", alter_sys=True)
    else:
        from skdeepbiq.cli import main
        sys.exit(main())
except SystemExit as stop:
    code = stop.code
print("OMP_WAIT_POLICY at torch import:", seen, file=sys.stderr)
sys.exit(code)
"""


def run_probe(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def parser_of(*words):
    """The (sub)parser of ``skdeepbiq WORDS...``."""
    parser = build_parser()
    for word in words:
        (subparsers,) = [
            action
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
        ]
        parser = subparsers.choices[word]
    return parser


def option_strings(parser):
    return {option for action in parser._actions for option in action.option_strings}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["score", "--help"], 0),
        (["fit", "--help"], 0),
        (["evaluate", "--help"], 0),
        (["reproduce", "--help"], 0),
        (["weights", "fetch", "--help"], 0),
        (["score", "x.jpg", "--no-such-option"], 2),
        (["score", "x.jpg", "--precision", "float64"], 2),
        (["fit", "manifest.csv"], 2),  # --output is required
        (["reproduce", "data/", "--n-splits", "0"], 2),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_help_and_usage_errors_import_no_torch(args, code):
    done = run_probe(*args)
    assert done.returncode == code, done.stderr
    assert "heavy modules: []" in done.stderr
    if code == 0:
        assert done.stdout.startswith("usage: skdeepbiq")


@pytest.mark.parametrize("entry", ["module", "main"])
@pytest.mark.parametrize("user_value", [None, "ACTIVE"])
def test_command_line_sets_passive_omp_wait_policy_before_importing_torch(
    entry, user_value, tmp_path
):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TORCH_HOME=str(tmp_path))
    env.pop("OMP_WAIT_POLICY", None)
    if user_value is not None:
        env["OMP_WAIT_POLICY"] = user_value  # the user's own choice is kept
    done = subprocess.run(
        [sys.executable, "-c", SPY, entry, "weights", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    expected = user_value or "PASSIVE"
    assert f"OMP_WAIT_POLICY at torch import: ['{expected}']" in done.stderr


def test_importing_the_package_imports_no_torch_until_a_name_is_used():
    code = (
        "import sys, skdeepbiq\n"
        "assert 'torch' not in sys.modules, 'import skdeepbiq imported torch'\n"
        "from skdeepbiq import CNNCropFeaturizer\n"
        "assert 'torch' in sys.modules\n"
        "print(CNNCropFeaturizer.__module__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "skdeepbiq._featurizer"


def test_the_lazy_package_lists_and_gives_every_public_name():
    assert set(skdeepbiq.__all__) <= set(dir(skdeepbiq))
    for name in skdeepbiq.__all__:
        assert getattr(skdeepbiq, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        skdeepbiq.no_such_name  # noqa: B018


def test_main_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit codes: 0 success; 1 a path, image or weights file is missing" in text
    assert "2 bad usage" in text


@pytest.mark.parametrize("command", ["score", "fit", "evaluate", "reproduce"])
def test_shared_options_are_spelled_the_same_in_every_command(command):
    options = option_strings(parser_of(command))
    shared = {"-q", "--quiet", "--device", "--batch-size", "--n-jobs", "--cache"}
    assert shared <= options
    if command != "reproduce":  # reproduce() has no precision parameter
        assert "--precision" in options
    if command in ("fit", "reproduce"):
        assert {"-C", "--C", "--backbone", "--weights", "--crop-size"} <= options
        assert {"--random-state"} <= options


def test_weights_fetch_takes_q_and_quiet():
    assert {"-q", "--quiet"} <= option_strings(parser_of("weights", "fetch"))


def test_c_is_spelled_both_ways_and_must_be_positive():
    for spelling in ("-C", "--C"):
        args = build_parser().parse_args(["fit", "m.csv", "-o", "m", spelling, "0.5"])
        assert args.C == 0.5
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["fit", "m.csv", "-o", "m", "-C", "-1"])
    assert stop.value.code == 2


def test_command_line_constants_agree_with_the_package():
    from skdeepbiq._engine.runtime import PRECISIONS
    from skdeepbiq._models.pretrained import DEFAULT_PRETRAINED

    assert parser_of("score").get_default("model") == DEFAULT_PRETRAINED
    (precision,) = [
        action for action in parser_of("fit")._actions if action.dest == "precision"
    ]
    assert tuple(precision.choices) == PRECISIONS


def help_of(parser, dest):
    (action,) = [action for action in parser._actions if action.dest == dest]
    return action.help


def test_defaults_shown_in_the_help_are_those_that_apply():
    import inspect

    from skdeepbiq._paper.experiments import PAPER_C
    from skdeepbiq._regressor import DEFAULT_C, TUNED_C
    from skdeepbiq.reproduce import reproduce

    # reproduce runs the paper's method, with the paper's features' C
    shown = re.search(
        r"default: the package's, (\S+)\)", help_of(parser_of("reproduce"), "C")
    )
    assert float(shown.group(1)) == PAPER_C
    # fit fine-tunes with --fine-tune, and a tuned model's default C differs
    shown = re.search(
        r"default: the package's, (\S+); (\S+) with --fine-tune\)",
        help_of(parser_of("fit"), "C"),
    )
    assert tuple(map(float, shown.groups())) == (DEFAULT_C, TUNED_C)
    defaults = inspect.signature(reproduce).parameters
    reproduce_parser = parser_of("reproduce")
    for dest in ("n_splits", "alpha", "crop_counts"):
        default = defaults[dest].default
        if isinstance(default, tuple):
            default = " ".join(map(str, default))
        assert f"(default: {default}" in help_of(reproduce_parser, dest)


def test_fit_help_states_the_default_and_the_tuned_featurizers_values():
    # The help keeps these as literals so that it imports no torch; they
    # must follow the regressor's defaults (_regressor.py) when those change.
    from skdeepbiq import CNNCropFeaturizer
    from skdeepbiq._regressor import DEFAULT_FEATURES, TUNED_FEATURES

    fit = parser_of("fit")
    base = CNNCropFeaturizer().get_params()
    plain, tuned = {**base, **DEFAULT_FEATURES}, {**base, **TUNED_FEATURES}
    # one backbone, tuned or not
    assert plain["backbone"] == tuned["backbone"]
    shown = re.search(r"\(default: (\S+)\)", help_of(fit, "backbone"))
    assert shown.group(1) == plain["backbone"]
    shown = re.search(
        r"default: (\S+); (\S+) with --fine-tune", help_of(fit, "spatial_pooling")
    )
    assert shown.groups() == (plain["spatial_pooling"], tuned["spatial_pooling"])
    # the tuned featurizer's crop count and compute mode are the untuned one's
    assert (plain["n_crops"], plain["compute"]) == (tuned["n_crops"], tuned["compute"])
    shown = re.search(r"\(default: (\S+)\)", help_of(fit, "n_crops"))
    assert shown.group(1) == str(plain["n_crops"])
    shown = re.search(
        r"default: (\S+); crops with --crops whole\)", help_of(fit, "compute")
    )
    assert shown.group(1) == plain["compute"]


def test_reproduce_passes_only_the_options_given(monkeypatch, tmp_path, capsys):
    """Absent options (--C among them) leave reproduce()'s own defaults."""
    import skdeepbiq.reproduce

    calls = []

    def fake_reproduce(dataset, output_dir, **keywords):
        calls.append(keywords)
        raise FileNotFoundError(f"{dataset}: no such file or folder")

    monkeypatch.setattr(skdeepbiq.reproduce, "reproduce", fake_reproduce)
    base = ["reproduce", str(tmp_path / "nowhere"), "--no-plots", "-q"]
    assert main(base) == 1
    assert main([*base, "--C", "0.01", "--crops", "1", "5"]) == 1
    absent = {"C", "experiments", "crop_counts", "n_splits", "dataset_type", "alpha"}
    assert absent.isdisjoint(calls[0])
    assert calls[0]["plots"] is False and calls[0]["verbose"] == 0
    assert calls[1]["C"] == 0.01 and calls[1]["crop_counts"] == [1, 5]
    assert "no such file or folder" in capsys.readouterr().err


def test_reproduce_arguments_give_reproduce_keywords():
    parser = build_parser()
    args = parser.parse_args(
        ["reproduce", "data/", "-C", "0.1", "--weights", "none", "-q"]
    )
    assert args.C == 0.1 and args.weights is None and args.quiet
