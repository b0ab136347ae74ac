"""Reproducibility: the same ``random_state`` gives bit-identical features on
the CPU, in one process and across processes; CPU and CUDA agree within a
documented tolerance; crop geometry is deterministic for any image size.

CPU-vs-CUDA tolerances (``cuda`` tests, run by ``benchmarks/gpu_check.sh``)
are relative to the largest feature magnitude, ``max|cuda - cpu| / max|cpu|``,
on ResNet-18 with random weights (``LIVELY``: MobileNetV2's random features
underflow float16):

- ``precision="float32"``: at most 1e-3 (TensorFloat-32 is off, so the two
  differ only by the order of float32 operations);
- ``precision="float16"`` (the default ``"auto"`` on CUDA): at most 2e-2;
- ``precision="bfloat16"``: at most 1e-1.
"""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skdeepbiq import CNNCropFeaturizer
from skdeepbiq._engine.crops import working_size
from skdeepbiq._engine.runtime import Runtime

from .conftest import LIVELY, cut_crops, make_images

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)
REPO = Path(__file__).resolve().parents[1]
TOLERANCE = {"float32": 1e-3, "float16": 2e-2, "bfloat16": 1e-1}


def relative_error(features, reference):
    return float(np.abs(features - reference).max() / np.abs(reference).max())


def test_same_random_state_gives_bit_identical_features_on_every_call(image_paths):
    first = CNNCropFeaturizer(**SMALL, random_state=11).fit(image_paths)
    second = CNNCropFeaturizer(**SMALL, random_state=11).fit(image_paths[:1])
    features = first.transform(image_paths)
    np.testing.assert_array_equal(first.transform(image_paths), features)
    np.testing.assert_array_equal(second.transform(image_paths), features)
    other = CNNCropFeaturizer(**SMALL, random_state=12).fit(image_paths)
    assert not np.array_equal(other.transform(image_paths), features)


def test_reader_threads_do_not_change_a_single_bit(images):
    reference = CNNCropFeaturizer(**SMALL, n_jobs=1).fit(images).transform(images)
    for n_jobs in (2, -1):
        featurizer = CNNCropFeaturizer(**SMALL, n_jobs=n_jobs).fit(images)
        np.testing.assert_array_equal(featurizer.transform(images), reference)


def test_torch_thread_count_changes_features_at_most_by_float32_rounding(images):
    # Bit-identical on the 2-core machine these tests were written on; oneDNN
    # may split reductions differently on other thread counts.
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    threads = torch.get_num_threads()
    reference = featurizer.transform(images)
    try:
        torch.set_num_threads(1)
        single = featurizer.transform(images)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(single, reference, rtol=1e-5, atol=1e-6)


CHILD = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    import torch
    from skdeepbiq import CNNCropFeaturizer

    torch.set_num_threads(int(sys.argv[1]))
    out, pickled, paths = sys.argv[2], sys.argv[3], sys.argv[4:]
    fresh = CNNCropFeaturizer(
        backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32,
        random_state=11,
    ).fit(paths)
    with open(pickled, "rb") as f:
        restored = pickle.load(f)
    np.savez(out, fresh=fresh.transform(paths), restored=restored.transform(paths))
    """
)


@pytest.mark.slow
def test_features_are_bit_identical_in_another_process(tmp_path, image_paths):
    featurizer = CNNCropFeaturizer(**SMALL, random_state=11).fit(image_paths)
    reference = featurizer.transform(image_paths)
    pickled = tmp_path / "featurizer.pkl"
    pickled.write_bytes(pickle.dumps(featurizer))
    out = tmp_path / "child.npz"
    subprocess.run(
        [sys.executable, "-c", CHILD, str(torch.get_num_threads()), str(out),
         str(pickled), *image_paths],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), check=True,
        capture_output=True, timeout=300,
    )  # fmt: skip
    with np.load(out) as child:
        np.testing.assert_array_equal(child["fresh"], reference)
        np.testing.assert_array_equal(child["restored"], reference)


def test_imagenet_features_are_bit_identical_across_fits(mobilenet_weights_cached):
    pixels = make_images(1, size=(260, 300), seed=4)
    params = dict(n_crops=2, random_state=3)
    first = CNNCropFeaturizer(**params).fit(pixels).transform(pixels)
    second = CNNCropFeaturizer(**params).fit(pixels).transform(pixels)
    np.testing.assert_array_equal(first, second)


sizes = st.integers(min_value=1, max_value=160)


@settings(max_examples=150, deadline=None)
@given(
    height=sizes,
    width=sizes,
    crop_size=st.integers(1, 48),
    n_crops=st.integers(1, 6),
    mode=st.sampled_from(["random", "grid", "center"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_cut_crops_of_any_real_image_have_the_right_shape_and_repeat(
    height, width, crop_size, n_crops, mode, seed
):
    pixels = np.random.default_rng(seed).integers(
        0, 256, (height, width, 3), dtype=np.uint8
    )
    crops, boxes = cut_crops(
        pixels, n_crops=n_crops, crop_size=crop_size, mode=mode, seed=seed
    )
    again, boxes_again = cut_crops(
        pixels.copy(), n_crops=n_crops, crop_size=crop_size, mode=mode, seed=seed
    )
    expected = 1 if mode == "center" else n_crops
    assert crops.shape == (expected, 3, crop_size, crop_size)
    assert crops.dtype == torch.uint8
    assert torch.equal(crops, again)
    np.testing.assert_array_equal(boxes, boxes_again)
    work_height, work_width = working_size(height, width, crop_size, mode)
    assert (boxes[:, :2] >= 0).all()
    assert (boxes[:, 2] <= work_width).all() and (boxes[:, 3] <= work_height).all()
    if (work_height, work_width) == (height, width):  # no resize: exact pixels
        for crop, (left, top, right, bottom) in zip(crops, boxes, strict=True):
            np.testing.assert_array_equal(
                crop.permute(1, 2, 0).numpy(), pixels[top:bottom, left:right]
            )


def cuda_runtime(dtype):
    """A CUDA runtime, built directly: entering its contexts needs no GPU."""
    return Runtime(torch.device("cuda"), dtype, dtype, batch_size=8, reader_threads=0)


def tensorfloat32_flags():
    return torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32


@pytest.mark.parametrize("training", [False, True])
def test_float32_on_cuda_runs_without_tensorfloat32_and_restores_the_flags(training):
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = tensorfloat32_flags()
    try:
        cudnn.allow_tf32 = matmul.allow_tf32 = True
        with cuda_runtime(None).autocast(training=training):
            assert tensorfloat32_flags() == (False, False)
        assert tensorfloat32_flags() == (True, True)
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved


@pytest.mark.filterwarnings("ignore:User provided device_type of 'cuda'")
@pytest.mark.filterwarnings("ignore:CUDA is not available.*Disabling autocast")
def test_mixed_precision_and_the_cpu_leave_tensorfloat32_flags_alone():
    before = tensorfloat32_flags()
    with cuda_runtime(torch.bfloat16).autocast():  # may warn: no CUDA here
        assert tensorfloat32_flags() == before
    cpu = Runtime(torch.device("cpu"), None, None, batch_size=8, reader_threads=0)
    with cpu.autocast():
        assert tensorfloat32_flags() == before


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@pytest.mark.parametrize("precision", ["float32", "float16", "bfloat16"])
def test_cuda_features_agree_with_cpu_within_the_documented_tolerance(
    images, precision, record_property
):
    featurizer = CNNCropFeaturizer(**LIVELY, device="cpu").fit(images)
    cpu = featurizer.transform(images)
    assert np.abs(cpu).max() > 0.1  # features of a size that float16 resolves
    featurizer.set_params(device="cuda", precision=precision)
    cuda = featurizer.transform(images)
    error = relative_error(cuda, cpu)
    record_property(f"cuda_{precision}_relative_error", error)
    print(f"CUDA {precision} vs CPU float32: max relative error {error:.2e}")
    assert error <= TOLERANCE[precision]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_cuda_imagenet_features_agree_with_cpu(
    mobilenet_weights_cached, precision, record_property
):
    pixels = make_images(4, size=(240, 260), seed=8)
    featurizer = CNNCropFeaturizer(n_crops=4, device="cpu").fit(pixels)
    cpu = featurizer.transform(pixels)
    cuda = featurizer.set_params(device="cuda", precision=precision).transform(pixels)
    error = relative_error(cuda, cpu)
    record_property(f"cuda_imagenet_{precision}_relative_error", error)
    print(f"CUDA {precision} vs CPU float32 (ImageNet): max relative error {error:.2e}")
    assert error <= TOLERANCE[precision]
