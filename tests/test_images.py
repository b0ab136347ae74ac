"""Which inputs are a sequence of images: one column of a table counts as one."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from skdeepbiq import CNNCropFeaturizer
from skdeepbiq._engine.images import check_images

SMALL = dict(weights=None, n_crops=2, crop_size=32, device="cpu", random_state=0)


@pytest.fixture
def frame(image_paths):
    return pd.DataFrame({"path": image_paths[:4], "mos": [10.0, 20.0, 30.0, 40.0]})


def test_one_column_dataframe_gives_the_same_images_as_its_column(frame):
    assert check_images(frame[["path"]]) == check_images(frame["path"])
    assert check_images(frame[["path"]]) == list(frame["path"])


@pytest.mark.parametrize("dtype", [object, str])
def test_one_column_array_of_paths_gives_the_same_images_as_the_1d_array(
    image_paths, dtype
):
    column = np.array(image_paths[:3], dtype=dtype)
    assert check_images(column[:, None]) == check_images(column) == image_paths[:3]


def test_one_column_array_of_image_arrays_is_a_column_of_images(images):
    column = np.empty((3, 1), dtype=object)
    for index in range(3):
        column[index, 0] = images[index]
    checked = check_images(column)
    assert len(checked) == 3
    assert all(a is b for a, b in zip(checked, images[:3], strict=True))


def test_a_table_of_several_columns_is_refused_naming_the_one_column_forms(frame):
    with pytest.raises(ValueError, match=r"table of 2 columns.*df\[\['path'\]\]"):
        check_images(frame)
    with pytest.raises(ValueError, match="table of 2 columns"):
        check_images(np.array([["a.jpg", "b.jpg"]], dtype=object))


@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 3), (48, 1)])
def test_one_image_array_is_still_a_single_image_not_a_column(shape):
    with pytest.raises(TypeError, match="got one array of shape"):
        check_images(np.zeros(shape, dtype=np.uint8))


def test_a_4d_array_is_still_a_stack_of_images(images):
    stack = np.stack(images[:3])
    checked = check_images(stack)
    assert len(checked) == 3
    np.testing.assert_array_equal(checked[1], images[1])


def test_featurizer_on_a_one_column_dataframe_gives_the_rows_of_the_column(frame):
    featurizer = CNNCropFeaturizer(**SMALL).fit(frame[["path"]])
    np.testing.assert_array_equal(
        featurizer.transform(frame[["path"]]), featurizer.transform(frame["path"])
    )


def test_column_transformer_with_a_path_column_featurizes_the_images(frame):
    featurizer = CNNCropFeaturizer(**SMALL)
    columns = ColumnTransformer(
        [("cnn", featurizer, ["path"])], remainder="passthrough"
    ).fit(frame)
    rows = columns.transform(frame)
    expected = CNNCropFeaturizer(**SMALL).fit(frame["path"]).transform(frame["path"])
    np.testing.assert_array_equal(rows[:, :-1], expected)
    np.testing.assert_array_equal(rows[:, -1], frame["mos"])
    names = columns.get_feature_names_out()
    assert names[0] == "cnn__crop0_feature0" and names[-1] == "remainder__mos"
