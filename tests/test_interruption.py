"""Interruption: a cached featurization stopped part way (Ctrl-C, a killed
process, a crash while writing) loses nothing finished, never leaves a
half-written cache entry, and a rerun computes only the unfinished images.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import skdeepbiq._engine.batching as batching_module
from skdeepbiq import CNNCropFeaturizer

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)
ROW = 3 * 1280
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def forward_calls(monkeypatch):
    """Crops of each network call; ``stop_after`` calls, then Ctrl-C."""
    state = {"crops": [], "stop_after": None}
    original = batching_module.forward

    def forward(network, crops, *args):
        if (
            state["stop_after"] is not None
            and len(state["crops"]) >= state["stop_after"]
        ):
            raise KeyboardInterrupt
        state["crops"].append(len(crops))
        return original(network, crops, *args)

    monkeypatch.setattr(batching_module, "forward", forward)
    return state


def cache_entries(folder) -> list[Path]:
    return sorted(Path(folder).rglob("*.npy"))


def test_ctrl_c_part_way_then_rerun_computes_only_unfinished_images(
    tmp_path, image_paths, forward_calls
):
    uncached = CNNCropFeaturizer(**SMALL, batch_size=2).fit(image_paths)
    reference = uncached.transform(image_paths)
    cache = tmp_path / "cache"
    featurizer = CNNCropFeaturizer(**SMALL, batch_size=2, memory=str(cache))
    featurizer.fit(image_paths)
    forward_calls.update(crops=[], stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        featurizer.transform(image_paths)
    # Each image's 3 crops take a pass of 2 and one of 1: after 5 passes, 2
    # images are finished and the 3rd half-done; only finished images are in
    # the cache.
    assert forward_calls["crops"] == [2, 1, 2, 1, 2]
    finished = 2
    entries = cache_entries(cache)
    assert len(entries) == finished
    assert not [p for p in cache.rglob("*") if p.name.startswith(".tmp-")]
    forward_calls.update(crops=[], stop_after=None)
    features = featurizer.transform(image_paths)
    assert sum(forward_calls["crops"]) == (12 - finished) * 3
    np.testing.assert_array_equal(features, reference)
    forward_calls["crops"] = []
    np.testing.assert_array_equal(featurizer.transform(image_paths), features)
    assert forward_calls["crops"] == []


def test_interrupt_while_writing_an_entry_leaves_no_partial_file(
    tmp_path, image_paths, monkeypatch, forward_calls
):
    cache = tmp_path / "cache"
    featurizer = CNNCropFeaturizer(**SMALL, memory=str(cache)).fit(image_paths)

    def dies_while_writing(file, row, allow_pickle=False):
        file.write(b"\x93NUMPY half an entry")
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(np, "save", dies_while_writing)
        with pytest.raises(KeyboardInterrupt):
            featurizer.transform(image_paths[:2])
    assert cache_entries(cache) == []
    assert [p.name for p in cache.rglob("*") if p.is_file()] == ["config.json"]
    featurizer.transform(image_paths[:2])
    assert len(cache_entries(cache)) == 2


@pytest.mark.parametrize(
    "corrupt",
    ["empty", "truncated", "not npy", "wrong length", "object array"],
)
def test_corrupt_cache_entry_is_recomputed_and_rewritten(
    tmp_path, image_paths, forward_calls, corrupt
):
    cache = tmp_path / "cache"
    featurizer = CNNCropFeaturizer(**SMALL, memory=str(cache)).fit(image_paths)
    first = featurizer.transform(image_paths[:4])
    entry = cache_entries(cache)[1]
    if corrupt == "empty":
        entry.write_bytes(b"")
    elif corrupt == "truncated":
        entry.write_bytes(entry.read_bytes()[: ROW * 2])
    elif corrupt == "not npy":
        entry.write_text("garbage")
    elif corrupt == "wrong length":
        np.save(entry, np.zeros(5, np.float32))
    else:
        np.save(entry, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    forward_calls["crops"] = []
    again = featurizer.transform(image_paths[:4])
    assert sum(forward_calls["crops"]) == 3
    np.testing.assert_array_equal(again, first)
    assert np.load(entry).shape == (ROW,)


CHILD = textwrap.dedent(
    """
    import sys, time
    import skdeepbiq._engine.batching as batching_module
    from skdeepbiq import CNNCropFeaturizer

    original = batching_module.forward

    def slow(*args):
        time.sleep(0.4)
        return original(*args)

    batching_module.forward = slow
    cache, paths = sys.argv[1], sys.argv[2:]
    CNNCropFeaturizer(
        backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32,
        batch_size=3, memory=cache,
    ).fit(paths).transform(paths)
    print("finished")
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_process_leaves_only_whole_entries_and_rerun_finishes(
    tmp_path, image_paths, forward_calls
):
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cache), *image_paths],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while len(cache_entries(cache)) < 3:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "child made no progress"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    entries = cache_entries(cache)
    assert 3 <= len(entries) < 12
    for entry in entries:  # whole entries only: a temporary file is never one
        assert not entry.name.startswith(".tmp-")
        assert np.load(entry, allow_pickle=False).shape == (ROW,)
    featurizer = CNNCropFeaturizer(**SMALL, batch_size=3, memory=str(cache))
    features = featurizer.fit(image_paths).transform(image_paths)
    assert sum(forward_calls["crops"]) == 3 * (12 - len(entries))
    reference = CNNCropFeaturizer(**SMALL, batch_size=3).fit(image_paths)
    np.testing.assert_allclose(
        features, reference.transform(image_paths), rtol=1e-5, atol=1e-6
    )
