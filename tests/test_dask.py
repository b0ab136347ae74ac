"""skdeepbiq.dask on a real dask.distributed LocalCluster of 2 worker
processes (CPU): features, shards, the shared cache, grid searches under
joblib's Dask backend and lazy scoring of bags and dataframes must all equal
the single-process results exactly.
"""

import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, ShuffleSplit

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, default_regressor
from skdeepbiq.exceptions import (
    ImageReadError,
    SkDeepBIQWarning,
    UnreadableImageWarning,
)

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
dask_bag = pytest.importorskip("dask.bag")
dask_dataframe = pytest.importorskip("dask.dataframe")

from skdeepbiq.dask import featurize, predict, worker_environment  # noqa: E402

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


def local_cluster(n_workers):
    """A LocalCluster of single-threaded worker processes, on free ports."""
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        worker_dashboard_address=":0",
    )


@pytest.fixture(scope="module")
def client():
    """A client of a LocalCluster with 2 single-threaded worker processes."""
    with dask.config.set(worker_environment()):
        cluster = local_cluster(2)
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def same_threads_as_workers():
    """Run PyTorch here with the workers' thread count (1), as its CPU
    kernels choose their arithmetic by it; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cache_entries(folder) -> dict:
    return {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*.npy")}


def test_the_cluster_has_two_worker_processes(client):
    pids = client.run(lambda: __import__("os").getpid())
    assert len(pids) == 2 and len(set(pids.values())) == 2


def test_features_equal_the_single_process_run_exactly(
    client, image_paths, same_threads_as_workers
):
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths)
    reference = featurizer.transform(image_paths)
    for partition_size in (1, 5, 64):
        features = featurize(
            featurizer, image_paths, client=client, partition_size=partition_size
        )
        assert features.dtype == np.float32
        np.testing.assert_array_equal(features, reference)


def test_the_featurizer_is_broadcast_so_either_worker_can_take_any_partition(
    client, image_paths
):
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths)
    featurize(featurizer, image_paths, client=client, partition_size=1)
    # one copy of the fitted featurizer on each worker; which worker runs
    # which partition is the scheduler's choice (under load one may take
    # them all), so only the workers that ran a partition built the network
    held = client.run(
        lambda dask_worker: [
            "_device_networks" in vars(value)
            for value in dask_worker.data.values()
            if isinstance(value, CNNCropFeaturizer)
        ]
    )
    assert sorted(len(copies) for copies in held.values()) == [1, 1]
    assert any(built for copies in held.values() for built in copies)


def test_torch_threads_sets_the_workers_thread_count_and_dask_malloc_warns(
    image_paths,
):
    # A cluster of its own: the thread setting stays with the worker's
    # thread, and this one keeps Dask's default worker environment.
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths)
    threads = torch.get_num_threads()
    with local_cluster(1) as cluster, distributed.Client(cluster) as client:
        assert client.submit(torch.get_num_threads, pure=False).result() == 1
        with pytest.warns(SkDeepBIQWarning, match="MALLOC_TRIM_THRESHOLD_.*worker_env"):
            features = featurize(
                featurizer, image_paths, client=client, torch_threads=threads
            )
        assert client.submit(torch.get_num_threads, pure=False).result() == threads
    np.testing.assert_array_equal(features, featurizer.transform(image_paths))


def test_worker_environment_drops_only_the_malloc_setting():
    config = worker_environment()["distributed.nanny.pre-spawn-environ"]
    assert "MALLOC_TRIM_THRESHOLD_" not in config
    assert config["OMP_NUM_THREADS"] == 1


def test_an_unfitted_featurizer_is_fitted_on_a_clone(
    client, image_paths, same_threads_as_workers
):
    featurizer = CNNCropFeaturizer(**SMALL)
    features = featurize(featurizer, image_paths, client=client)
    assert not hasattr(featurizer, "network_")
    expected = CNNCropFeaturizer(**SMALL).fit(image_paths).transform(image_paths)
    np.testing.assert_array_equal(features, expected)


def test_shards_on_disk_give_a_lazy_dask_array_of_the_same_rows(
    client, image_paths, tmp_path, same_threads_as_workers
):
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths)
    lazy = featurize(
        featurizer,
        image_paths,
        client=client,
        partition_size=5,
        output=tmp_path / "out",
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "part-00000.npy",
        "part-00001.npy",
        "part-00002.npy",
    ]
    assert lazy.shape == (12, featurizer.n_features_out_)
    assert lazy.chunks[0] == (5, 5, 2)
    np.testing.assert_array_equal(lazy.compute(), featurizer.transform(image_paths))


def test_workers_share_the_cache_and_a_rerun_computes_nothing(
    client, image_paths, tmp_path, same_threads_as_workers
):
    featurizer = CNNCropFeaturizer(**SMALL, memory=str(tmp_path / "cache"))
    first = featurize(featurizer, image_paths, client=client, partition_size=2)
    entries = cache_entries(tmp_path / "cache")
    assert len(entries) == len(image_paths)
    again = featurize(featurizer, image_paths, client=client, partition_size=3)
    assert cache_entries(tmp_path / "cache") == entries  # nothing rewritten
    np.testing.assert_array_equal(again, first)
    local = CNNCropFeaturizer(**SMALL).fit(image_paths).transform(image_paths)
    np.testing.assert_array_equal(first, local)


def test_grid_search_under_the_dask_backend_reads_the_shared_cache(
    client, image_paths, scores, tmp_path
):
    cache = str(tmp_path / "cache")
    model = DeepBIQRegressor(
        CNNCropFeaturizer(**SMALL, memory=cache), regressor=default_regressor()
    )
    featurize(model.featurizer, image_paths, client=client)  # once, on the cluster
    entries = cache_entries(cache)
    grid = {"regressor__C": [1e-4, 1e-2]}
    cv = ShuffleSplit(n_splits=3, test_size=0.25, random_state=0)
    local = GridSearchCV(model, grid, cv=cv).fit(image_paths, scores)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(model, grid, cv=cv, n_jobs=-1).fit(image_paths, scores)
    assert cache_entries(cache) == entries  # no task ran the network
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    np.testing.assert_array_equal(
        remote.best_estimator_.predict(image_paths),
        local.best_estimator_.predict(image_paths),
    )


@pytest.fixture
def fitted_model(image_paths, scores):
    return DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(image_paths, scores)


def test_predict_a_bag_of_paths_lazily(
    client, fitted_model, image_paths, same_threads_as_workers
):
    bag = dask_bag.from_sequence(image_paths, npartitions=4)
    scores = predict(fitted_model, bag)
    assert isinstance(scores, dask_bag.Bag)
    np.testing.assert_array_equal(
        np.array(scores.compute()), fitted_model.predict(image_paths)
    )


def test_predict_a_dataframe_column_and_a_series(
    client, fitted_model, image_paths, same_threads_as_workers
):
    import pandas as pd

    frame = pd.DataFrame(
        {"file": image_paths, "group": np.arange(12) % 3}, index=np.arange(12) * 10
    )
    lazy_frame = dask_dataframe.from_pandas(frame, npartitions=3)
    expected = fitted_model.predict(image_paths)
    from_frame = predict(fitted_model, lazy_frame, column="file").compute()
    assert from_frame.name == "score"
    assert list(from_frame.index) == list(frame.index)
    np.testing.assert_array_equal(from_frame.to_numpy(), expected)
    from_series = predict(fitted_model, lazy_frame["file"]).compute()
    np.testing.assert_array_equal(from_series.to_numpy(), expected)


def test_predict_names_a_missing_column_and_rejects_other_inputs(fitted_model):
    import pandas as pd

    lazy_frame = dask_dataframe.from_pandas(pd.DataFrame({"file": ["a.jpg"]}), 1)
    with pytest.raises(ValueError, match="column='path'.*'file'"):
        predict(fitted_model, lazy_frame)
    with pytest.raises(TypeError, match="dask.bag.Bag.*list"):
        predict(fitted_model, ["a.jpg"])


def test_an_unreadable_file_is_named_by_its_position_in_the_whole_list(
    client, image_paths, tmp_path
):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    paths = image_paths[:7] + [str(broken)] + image_paths[7:]
    featurizer = CNNCropFeaturizer(**SMALL).fit(paths)
    with pytest.raises(ImageReadError, match=r"X\[7\] .*broken\.jpg"):
        featurize(featurizer, paths, client=client, partition_size=3)
    featurizer.set_params(on_error="nan")
    with pytest.warns(UnreadableImageWarning, match=r"X\[7\]") as caught:
        features = featurize(featurizer, paths, client=client, partition_size=3)
    assert [failure.index for failure in caught[0].message.failures] == [7]
    assert np.isnan(features[7]).all() and np.isfinite(np.delete(features, 7, 0)).all()


def test_parameters_and_a_missing_client_give_clear_errors(image_paths, client):
    featurizer = CNNCropFeaturizer(**SMALL)
    with pytest.raises(ValueError, match="partition_size"):
        featurize(featurizer, image_paths, client=client, partition_size=0)
    with pytest.raises(ValueError, match="torch_threads"):
        featurize(featurizer, image_paths, client=client, torch_threads=0)
    with pytest.raises(TypeError, match=r"paths\[0\].*not a path"):
        featurize(featurizer, [np.zeros((8, 8, 3), np.uint8)], client=client)


def test_without_a_client_the_error_says_how_to_make_one(image_paths):
    code = (
        "from skdeepbiq import CNNCropFeaturizer\n"
        "from skdeepbiq.dask import featurize\n"
        "try:\n"
        f"    featurize(CNNCropFeaturizer(weights=None), {image_paths[:1]!r})\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "no Dask client: pass client=" in result.stdout, result.stderr


def test_import_skdeepbiq_does_not_import_dask():
    code = "import sys, skdeepbiq; print('dask' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr


def test_progress_shows_dasks_progress_bar(client, image_paths, capsys):
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths)
    featurize(featurizer, image_paths, client=client, partition_size=4, progress=True)
    assert "Completed" in capsys.readouterr().out
