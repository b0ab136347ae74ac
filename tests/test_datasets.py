"""Tests of skdeepbiq.datasets: loaders on tiny files in each official layout."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from skdeepbiq.datasets import (
    DATASET_TYPES,
    load_clive,
    load_csiq,
    load_dataset,
    load_kadid10k,
    load_koniq10k,
    load_live,
    load_manifest,
    load_tid2008,
    load_tid2013,
    make_synthetic_iqa,
)

CLIVE_DEV_MANIFEST = (
    Path(__file__).parents[1] / ".." / "shared" / "data" / "clive-dev" / "mos.csv"
).resolve()

BUNCH_KEYS = {
    "paths",
    "y",
    "higher_is_better",
    "groups",
    "mos_std",
    "distortion_type",
    "distortion_level",
    "name",
    "DESCR",
}

_IMAGE_BYTES = {}


def write_image(path, size=(6, 4)):
    """Write a tiny image whose format follows the file's suffix."""
    suffix = path.suffix.lower()
    key = (suffix, size)
    if key not in _IMAGE_BYTES:
        buffer = io.BytesIO()
        fmt = {".bmp": "BMP", ".png": "PNG", ".jpg": "JPEG"}[suffix]
        Image.new("RGB", size, (120, 30, 200)).save(buffer, format=fmt)
        _IMAGE_BYTES[key] = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_IMAGE_BYTES[key])


def cell_array(strings, shape):
    """A MATLAB cell array of strings, as savemat writes numpy object arrays."""
    cells = np.empty(len(strings), dtype=object)
    cells[:] = list(strings)
    return cells.reshape(shape)


def assert_common_bunch(data, n_images):
    assert BUNCH_KEYS <= set(data)
    assert data.paths.shape == (n_images,)
    assert data.y.shape == (n_images,)
    assert data.y.dtype == np.float64
    assert all(Path(path).is_absolute() and Path(path).is_file() for path in data.paths)
    for key in ["groups", "mos_std", "distortion_type", "distortion_level"]:
        assert data[key] is None or len(data[key]) == n_images, key
    assert isinstance(data.DESCR, str) and data.DESCR


# ---------------------------------------------------------------------------
# CLIVE
# ---------------------------------------------------------------------------

CLIVE_TRAINING = [f"t{i}.bmp" for i in range(1, 8)]
CLIVE_TEST = ["3.bmp", "10.bmp", "1000.JPG", "11.bmp", "500.JPG"]


@pytest.fixture
def clive_root(tmp_path):
    root = tmp_path / "ChallengeDB_release"
    names = CLIVE_TRAINING + CLIVE_TEST
    n = len(names)
    (root / "Data").mkdir(parents=True)
    savemat(
        root / "Data" / "AllImages_release.mat",
        {"AllImages_release": cell_array(names, (n, 1))},
    )
    savemat(
        root / "Data" / "AllMOS_release.mat",
        {"AllMOS_release": np.linspace(10, 90, n).reshape(1, n)},
    )
    savemat(
        root / "Data" / "AllStdDev_release.mat",
        {"AllStdDev_release": np.linspace(15, 25, n).reshape(1, n)},
    )
    for name in CLIVE_TRAINING:
        write_image(root / "Images" / "trainingImages" / name)
    for index, name in enumerate(CLIVE_TEST):
        suffix_path = root / "Images" / name
        # Not every CLIVE image has the same size.
        size = (6, 4) if index else (4, 7)
        buffer = io.BytesIO()
        fmt = "JPEG" if name.lower().endswith(".jpg") else "BMP"
        Image.new("RGB", size).save(buffer, format=fmt)
        suffix_path.write_bytes(buffer.getvalue())
    return root


def test_load_clive_reads_the_test_images_of_the_official_layout(clive_root):
    data = load_clive(clive_root)
    assert_common_bunch(data, 5)
    assert [Path(path).name for path in data.paths] == CLIVE_TEST
    assert all(Path(path).parent == clive_root / "Images" for path in data.paths)
    np.testing.assert_allclose(data.y, np.linspace(10, 90, 12)[7:])
    np.testing.assert_allclose(data.mos_std, np.linspace(15, 25, 12)[7:])
    assert data.higher_is_better is True
    assert data.groups is None
    assert data.distortion_type is None and data.distortion_level is None
    assert not data.is_training_image.any()
    assert data.name == "CLIVE"
    assert "Ghadiyaram" in data.DESCR


def test_load_clive_can_include_the_training_images_from_their_folder(clive_root):
    data = load_clive(clive_root, include_training_images=True)
    assert_common_bunch(data, 12)
    assert data.is_training_image.tolist() == [True] * 7 + [False] * 5
    assert Path(data.paths[0]) == clive_root / "Images" / "trainingImages" / "t1.bmp"
    np.testing.assert_allclose(data.y, np.linspace(10, 90, 12))


def test_load_clive_accepts_a_string_root(clive_root):
    assert len(load_clive(str(clive_root)).paths) == 5


def test_load_clive_missing_mos_file_raises_naming_it(clive_root):
    (clive_root / "Data" / "AllMOS_release.mat").unlink()
    with pytest.raises(FileNotFoundError, match=r"AllMOS_release\.mat: file not found"):
        load_clive(clive_root)


def test_load_clive_mos_of_wrong_length_raises_with_both_counts(clive_root):
    savemat(
        clive_root / "Data" / "AllMOS_release.mat", {"AllMOS_release": np.ones((1, 11))}
    )
    with pytest.raises(
        ValueError,
        match=r"AllMOS_release\.mat: expected the variable 'AllMOS_release' with 12 "
        r"values .*found 11",
    ):
        load_clive(clive_root)


def test_load_clive_wrong_variable_name_raises_listing_the_found_ones(clive_root):
    savemat(clive_root / "Data" / "AllStdDev_release.mat", {"std": np.ones((1, 12))})
    with pytest.raises(
        ValueError, match=r"expected the variable 'AllStdDev_release', found \['std'\]"
    ):
        load_clive(clive_root)


def test_load_clive_missing_image_raises_naming_it(clive_root):
    (clive_root / "Images" / "1000.JPG").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"1 of the 5 images .* missing: .*1000\.JPG"
    ):
        load_clive(clive_root)


def test_load_clive_too_few_names_raises(clive_root):
    savemat(
        clive_root / "Data" / "AllImages_release.mat",
        {"AllImages_release": cell_array(CLIVE_TRAINING[:3], (3, 1))},
    )
    with pytest.raises(ValueError, match="1169 names"):
        load_clive(clive_root)


# ---------------------------------------------------------------------------
# LIVE release 2
# ---------------------------------------------------------------------------

LIVE_COUNTS = {"jp2k": 227, "jpeg": 233, "wn": 174, "gblur": 174, "fastfading": 174}
LIVE_REFERENCES = [0, 300, 981]  # entries flagged orgs == 1


@pytest.fixture
def live_root(tmp_path):
    root = tmp_path / "databaserelease2"
    root.mkdir()
    refnames = [["bikes.bmp", "caps.bmp", "house.bmp"][i % 3] for i in range(982)]
    savemat(root / "refnames_all.mat", {"refnames_all": cell_array(refnames, (1, 982))})
    orgs = np.zeros((1, 982))
    orgs[0, LIVE_REFERENCES] = 1
    dmos = np.arange(982, dtype=float).reshape(1, 982) / 10
    dmos[0, LIVE_REFERENCES] = 0
    savemat(
        root / "dmos_realigned.mat",
        {"dmos_new": dmos, "orgs": orgs, "dmos_std": dmos / 5 + 1},
    )
    for folder, count in LIVE_COUNTS.items():
        (root / folder).mkdir()
        (root / folder / "info.txt").write_text("")
        for i in range(1, count + 1):
            write_image(root / folder / f"img{i}.bmp")
    return root


def test_load_live_maps_the_982_entries_to_the_five_folders(live_root):
    data = load_live(live_root)
    assert_common_bunch(data, 979)
    assert data.higher_is_better is False
    assert data.name == "LIVE"
    all_entries = load_live(live_root, include_references=True)
    # Entry 227 is the first jpeg image; entry 981 the last fastfading one.
    assert (
        Path(all_entries.paths[227]).relative_to(live_root).as_posix()
        == "jpeg/img1.bmp"
    )
    assert (
        Path(all_entries.paths[981]).relative_to(live_root).as_posix()
        == "fastfading/img174.bmp"
    )
    assert all_entries.y[227] == pytest.approx(22.7)
    assert all_entries.distortion_type[460] == "wn"  # 227 + 233 = 460
    assert all_entries.groups[4] == "caps.bmp"
    assert data.distortion_level is None
    counts = {
        kind: int(np.sum(all_entries.distortion_type == kind)) for kind in LIVE_COUNTS
    }
    assert counts == LIVE_COUNTS


def test_load_live_leaves_out_references_unless_asked(live_root):
    data = load_live(live_root)
    assert not data.is_reference.any()
    assert "jp2k/img1.bmp" not in {
        Path(p).relative_to(live_root).as_posix() for p in data.paths
    }
    with_refs = load_live(live_root, include_references=True)
    assert np.flatnonzero(with_refs.is_reference).tolist() == LIVE_REFERENCES
    np.testing.assert_allclose(with_refs.mos_std[1], 0.1 / 5 + 1)


def test_load_live_falls_back_to_dmos_mat_without_standard_deviations(live_root):
    (live_root / "dmos_realigned.mat").unlink()
    orgs = np.zeros((1, 982))
    orgs[0, 5] = 1
    savemat(live_root / "dmos.mat", {"dmos": np.full((1, 982), 40.0), "orgs": orgs})
    data = load_live(live_root)
    assert len(data.paths) == 981
    assert data.mos_std is None
    assert data.scores_file.endswith("dmos.mat")


def test_load_live_without_any_dmos_file_raises_naming_both(live_root):
    (live_root / "dmos_realigned.mat").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"dmos\.mat: file not found.*dmos_realigned\.mat"
    ):
        load_live(live_root)


def test_load_live_refnames_of_wrong_length_raises(live_root):
    savemat(
        live_root / "refnames_all.mat",
        {"refnames_all": cell_array(["a.bmp"] * 10, (1, 10))},
    )
    with pytest.raises(ValueError, match=r"'refnames_all' with 982 values .*found 10"):
        load_live(live_root)


def test_load_live_missing_image_raises_naming_it(live_root):
    (live_root / "gblur" / "img5.bmp").unlink()
    with pytest.raises(FileNotFoundError, match=r"gblur/img5\.bmp"):
        load_live(live_root)


# ---------------------------------------------------------------------------
# CSIQ
# ---------------------------------------------------------------------------

CSIQ_ROWS = [
    # image, dst_idx, dst_type, dst_lev, dmos_std, dmos ; file written
    ("1600", "1", "noise", "1", "0.012", "0.062", "awgn/1600.AWGN.1.png"),
    ("1600", "2", "jpeg", "2", "0.020", "0.150", "jpeg/1600.JPEG.2.png"),
    ("1600", "3", "jpeg 2000", "5", "0.030", "0.700", "jpeg2000/1600.jpeg2000.5.png"),
    (
        "aerial_city",
        "4",
        "fnoise",
        "3",
        "0.040",
        "0.300",
        "fnoise/aerial_city.fnoise.3.png",
    ),
    ("aerial_city", "5", "blur", "4", "0.050", "0.550", "blur/aerial_city.BLUR.4.png"),
    # stored with another case than the name the table implies
    (
        "aerial_city",
        "6",
        "contrast",
        "1",
        "0.060",
        "0.010",
        "contrast/AERIAL_CITY.CONTRAST.1.PNG",
    ),
]
CSIQ_HEADER = ("image", "dst_idx", "dst_type", "dst_lev", "dmos_std", "dmos")


def write_csiq_table(path, rows, delimiter="\t", header=True):
    lines = [delimiter.join(CSIQ_HEADER)] if header else []
    lines += [delimiter.join(row[:6]) for row in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def csiq_root(tmp_path):
    root = tmp_path / "CSIQ"
    for row in CSIQ_ROWS:
        write_image(root / "dst_imgs" / row[6])
    write_csiq_table(root / "csiq.DMOS.txt", CSIQ_ROWS)
    return root


def test_load_csiq_reads_the_per_image_table_and_finds_images_by_type(csiq_root):
    data = load_csiq(csiq_root)
    assert_common_bunch(data, 6)
    assert data.higher_is_better is False
    np.testing.assert_allclose(data.y, [float(row[5]) for row in CSIQ_ROWS])
    np.testing.assert_allclose(data.mos_std, [float(row[4]) for row in CSIQ_ROWS])
    assert data.groups.tolist() == ["1600"] * 3 + ["aerial_city"] * 3
    assert data.distortion_type.tolist() == [
        "awgn",
        "jpeg",
        "jpeg2000",
        "fnoise",
        "blur",
        "contrast",
    ]
    assert data.distortion_level.tolist() == [1, 2, 5, 3, 4, 1]
    relative = [
        Path(p).relative_to(csiq_root / "dst_imgs").as_posix() for p in data.paths
    ]
    assert relative == [row[6] for row in CSIQ_ROWS]
    assert "Larson" in data.DESCR


@pytest.mark.parametrize(
    "delimiter, header", [("\t", False), (",", True), (",", False)]
)
def test_load_csiq_reads_tab_or_comma_tables_with_or_without_header(
    csiq_root, delimiter, header
):
    write_csiq_table(csiq_root / "csiq.beta.txt", CSIQ_ROWS, delimiter, header)
    data = load_csiq(csiq_root, scores_file="csiq.beta.txt")
    np.testing.assert_allclose(data.y, [float(row[5]) for row in CSIQ_ROWS])


def test_load_csiq_finds_images_in_a_flat_folder(tmp_path):
    root = tmp_path / "CSIQ"
    for row in CSIQ_ROWS:
        write_image(root / "dst_imgs" / Path(row[6]).name)
    write_csiq_table(root / "csiq.DMOS.txt", CSIQ_ROWS)
    assert len(load_csiq(root).paths) == 6


def test_load_csiq_missing_table_raises_naming_it(csiq_root):
    (csiq_root / "csiq.DMOS.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"csiq\.DMOS\.txt: file not found"):
        load_csiq(csiq_root)


def test_load_csiq_unknown_distortion_index_raises_naming_the_line(csiq_root):
    rows = [*CSIQ_ROWS[:2], ("1600", "7", "odd", "1", "0.1", "0.1", "")]
    write_csiq_table(csiq_root / "csiq.DMOS.txt", rows)
    with pytest.raises(ValueError, match=r"line 4: dst_idx must be 1 to 6"):
        load_csiq(csiq_root)


def test_load_csiq_row_with_too_few_fields_raises(csiq_root):
    (csiq_root / "csiq.DMOS.txt").write_text("1600\t1\tnoise\t1\t0.062\n")
    with pytest.raises(ValueError, match=r"line 1: expected 6 fields"):
        load_csiq(csiq_root)


def test_load_csiq_missing_image_raises_naming_it(csiq_root):
    (csiq_root / "dst_imgs" / "blur" / "aerial_city.BLUR.4.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"aerial_city\.BLUR\.4\.png"):
        load_csiq(csiq_root)


# ---------------------------------------------------------------------------
# TID2008 and TID2013
# ---------------------------------------------------------------------------

TID_ENTRIES = [
    # MOS, name in mos_with_names.txt, name of the file on disk
    ("5.51429", "i01_01_1.bmp", "i01_01_1.bmp"),
    ("4.20000", "i01_08_2.bmp", "I01_08_2.BMP"),
    ("3.00000", "I02_17_4.bmp", "i02_17_4.bmp"),
]


def write_tid(root, entries, std=True):
    lines = [f"{mos} {name}" for mos, name, _ in entries]
    (root / "mos_with_names.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "mos_with_names.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    if std:
        (root / "mos_std.txt").write_text(
            "".join(f"0.{i + 1}\n" for i in range(len(entries)))
        )
    for _, _, on_disk in entries:
        write_image(root / "distorted_images" / on_disk)
    write_image(root / "reference_images" / "I01.BMP")


@pytest.fixture
def tid2013_root(tmp_path):
    root = tmp_path / "tid2013"
    write_tid(root, [*TID_ENTRIES, ("1.50000", "i25_24_5.bmp", "I25_24_5.BMP")])
    return root


def test_load_tid2013_parses_reference_type_and_level_from_names(tid2013_root):
    data = load_tid2013(tid2013_root)
    assert_common_bunch(data, 4)
    np.testing.assert_allclose(data.y, [5.51429, 4.2, 3.0, 1.5])
    np.testing.assert_allclose(data.mos_std, [0.1, 0.2, 0.3, 0.4])
    assert data.groups.tolist() == ["I01", "I01", "I02", "I25"]
    assert data.distortion_type.tolist() == [1, 8, 17, 24]
    assert data.distortion_level.tolist() == [1, 2, 4, 5]
    assert data.distortion_names[24] == "Sparse sampling and reconstruction"
    assert data.higher_is_better is True
    assert data.name == "TID2013"


def test_load_tid2013_matches_file_names_case_insensitively(tid2013_root):
    names = [Path(path).name for path in load_tid2013(tid2013_root).paths]
    assert names == ["i01_01_1.bmp", "I01_08_2.BMP", "i02_17_4.bmp", "I25_24_5.BMP"]


def test_load_tid2008_reads_the_same_layout_without_mos_std(tmp_path):
    root = tmp_path / "tid2008"
    write_tid(root, TID_ENTRIES, std=False)
    data = load_tid2008(root)
    assert_common_bunch(data, 3)
    assert data.mos_std is None
    assert data.name == "TID2008"
    assert len(data.distortion_names) == 17


def test_load_tid2008_rejects_tid2013_distortion_types(tid2013_root):
    with pytest.raises(
        ValueError, match=r"line 4: distortion type 24 .* 17 types of TID2008"
    ):
        load_tid2008(tid2013_root)


def test_load_tid2013_mos_std_of_wrong_length_raises_naming_it(tid2013_root):
    (tid2013_root / "mos_std.txt").write_text("0.1\n0.2\n")
    with pytest.raises(ValueError, match=r"mos_std\.txt: expected 4 values .*found 2"):
        load_tid2013(tid2013_root)


def test_load_tid2013_malformed_line_raises_naming_it(tid2013_root):
    (tid2013_root / "mos_with_names.txt").write_text(
        "5.1 i01_01_1.bmp\nfive i01_08_2.bmp\n"
    )
    with pytest.raises(ValueError, match=r"line 2: column 'MOS' must be a number"):
        load_tid2013(tid2013_root)


def test_load_tid2013_unexpected_file_name_raises(tid2013_root):
    (tid2013_root / "mos_with_names.txt").write_text("5.1 picture.bmp\n")
    with pytest.raises(
        ValueError, match=r"line 1: expected a file name like i01_01_1\.bmp"
    ):
        load_tid2013(tid2013_root)


def test_load_tid2013_missing_scores_file_raises_naming_it(tid2013_root):
    (tid2013_root / "mos_with_names.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"mos_with_names\.txt: file not found"):
        load_tid2013(tid2013_root)


def test_load_tid2013_missing_image_raises_naming_it(tid2013_root):
    (tid2013_root / "distorted_images" / "i02_17_4.bmp").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of the 4 images .*I02_17_4\.bmp"):
        load_tid2013(tid2013_root)


# ---------------------------------------------------------------------------
# KADID-10k
# ---------------------------------------------------------------------------

KADID_CSV = """dist_img,ref_img,dmos,var
I01_01_01.png,I01.png,4.57,0.49
I01_01_05.png,I01.png,1.20,0.16
I02_25_03.png,I02.png,3.00,1.00
"""


@pytest.fixture
def kadid_root(tmp_path):
    root = tmp_path / "kadid10k"
    for name in [
        "I01.png",
        "I02.png",
        "I01_01_01.png",
        "I01_01_05.png",
        "I02_25_03.png",
    ]:
        write_image(root / "images" / name)
    (root / "dmos.csv").write_text(KADID_CSV)
    return root


def test_load_kadid10k_reads_scores_types_levels_and_std(kadid_root):
    data = load_kadid10k(kadid_root)
    assert_common_bunch(data, 3)
    np.testing.assert_allclose(data.y, [4.57, 1.2, 3.0])
    np.testing.assert_allclose(data.mos_std, [0.7, 0.4, 1.0])
    assert data.groups.tolist() == ["I01", "I01", "I02"]
    assert data.distortion_type.tolist() == [1, 1, 25]
    assert data.distortion_level.tolist() == [1, 5, 3]
    assert data.distortion_names[25] == "Contrast change"
    assert data.higher_is_better is True  # the "dmos" column grows with quality
    assert "Lin" in data.DESCR


def test_load_kadid10k_without_var_column_has_no_mos_std(kadid_root):
    (kadid_root / "dmos.csv").write_text(
        "dist_img,ref_img,dmos\nI01_01_01.png,I01.png,4.5\n"
    )
    assert load_kadid10k(kadid_root).mos_std is None


def test_load_kadid10k_missing_column_raises_naming_it(kadid_root):
    (kadid_root / "dmos.csv").write_text(
        "dist_img,ref_img,score\nI01_01_01.png,I01.png,4.5\n"
    )
    with pytest.raises(ValueError, match=r"missing \['dmos'\]"):
        load_kadid10k(kadid_root)


def test_load_kadid10k_non_numeric_score_raises_naming_the_line(kadid_root):
    (kadid_root / "dmos.csv").write_text(KADID_CSV.replace("1.20", "n/a"))
    with pytest.raises(ValueError, match=r"line 3: column 'dmos' must be a number"):
        load_kadid10k(kadid_root)


def test_load_kadid10k_missing_csv_raises_naming_it(kadid_root):
    (kadid_root / "dmos.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"dmos\.csv: file not found"):
        load_kadid10k(kadid_root)


def test_load_kadid10k_missing_image_raises_naming_it(kadid_root):
    (kadid_root / "images" / "I02_25_03.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"I02_25_03\.png"):
        load_kadid10k(kadid_root)


# ---------------------------------------------------------------------------
# KonIQ-10k
# ---------------------------------------------------------------------------

KONIQ_CSV = (
    '"image_name","c1","c2","c3","c4","c5","c_total","MOS","SD","MOS_zscore"\n'
    '"10004473376.jpg",0,9,43,78,0,130,3.5,0.6,71.4\n'
    '"10007357496.jpg",2,20,50,40,3,115,3.1,0.8,60.2\n'
)


@pytest.fixture
def koniq_root(tmp_path):
    root = tmp_path / "koniq10k"
    for folder in ["1024x768", "512x384"]:
        for name in ["10004473376.jpg", "10007357496.jpg"]:
            write_image(root / folder / name)
    (root / "koniq10k_scores_and_distributions.csv").write_text(KONIQ_CSV)
    return root


def test_load_koniq10k_reads_mos_and_sd_at_full_size(koniq_root):
    data = load_koniq10k(koniq_root)
    assert_common_bunch(data, 2)
    np.testing.assert_allclose(data.y, [3.5, 3.1])
    np.testing.assert_allclose(data.mos_std, [0.6, 0.8])
    assert all(Path(path).parent.name == "1024x768" for path in data.paths)
    assert data.groups is None
    assert data.higher_is_better is True


def test_load_koniq10k_half_size_and_zscore_scale(koniq_root):
    data = load_koniq10k(koniq_root, image_size="512x384", score="MOS_zscore")
    np.testing.assert_allclose(data.y, [71.4, 60.2])
    assert data.mos_std is None
    assert all(Path(path).parent.name == "512x384" for path in data.paths)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_size": "800x600"}, "image_size must be"),
        ({"score": "mos"}, "score must be"),
    ],
)
def test_load_koniq10k_rejects_invalid_options(koniq_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_koniq10k(koniq_root, **kwargs)


def test_load_koniq10k_missing_image_folder_raises_naming_it(koniq_root):
    for path in (koniq_root / "512x384").iterdir():
        path.unlink()
    (koniq_root / "512x384").rmdir()
    with pytest.raises(FileNotFoundError, match=r"512x384: folder not found"):
        load_koniq10k(koniq_root, image_size="512x384")


def test_load_koniq10k_missing_sd_column_raises(koniq_root):
    (koniq_root / "koniq10k_scores_and_distributions.csv").write_text(
        "image_name,MOS\n10004473376.jpg,3.5\n"
    )
    with pytest.raises(ValueError, match=r"missing \['SD'\]"):
        load_koniq10k(koniq_root)


# ---------------------------------------------------------------------------
# All loaders
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loader",
    [
        load_clive,
        load_live,
        load_csiq,
        load_tid2008,
        load_tid2013,
        load_kadid10k,
        load_koniq10k,
    ],
)
def test_loaders_raise_naming_a_missing_root_folder(loader, tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-copy: no such folder"):
        loader(tmp_path / "no-such-copy")


# ---------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path):
    folder = tmp_path / "my-study"
    write_image(folder / "images" / "a.png")
    write_image(folder / "images" / "b.jpg")
    elsewhere = tmp_path / "elsewhere" / "c.png"
    write_image(elsewhere)
    path = folder / "scores.csv"
    path.write_text(
        "image,mos,mos_std,group,comment\n"
        "images/a.png,71.5,10.0,scene1,sharp\n"
        "images/b.jpg,20,12.5,scene1,blurry\n"
        f"{elsewhere},55,8,scene2,\n"
    )
    return path


def test_load_manifest_resolves_relative_and_absolute_paths(manifest):
    data = load_manifest(manifest)
    assert_common_bunch(data, 3)
    assert Path(data.paths[0]) == manifest.parent / "images" / "a.png"
    assert Path(data.paths[2]) == manifest.parent.parent / "elsewhere" / "c.png"
    np.testing.assert_allclose(data.y, [71.5, 20, 55])
    np.testing.assert_allclose(data.mos_std, [10, 12.5, 8])
    assert data.groups.tolist() == ["scene1", "scene1", "scene2"]
    assert data.name == "my-study"
    assert data.higher_is_better is True


def test_load_manifest_with_only_required_columns(manifest):
    manifest.write_text("image,mos\nimages/a.png,1\n")
    data = load_manifest(manifest, higher_is_better=False, name="dmos-study")
    assert data.mos_std is None and data.groups is None
    assert data.higher_is_better is False
    assert data.name == "dmos-study"


def test_load_manifest_ignores_a_byte_order_mark(manifest):
    manifest.write_bytes(b"\xef\xbb\xbfimage,mos\nimages/a.png,1\n")
    assert load_manifest(manifest).y.tolist() == [1.0]


def test_load_manifest_without_a_score_column_raises_naming_the_columns_found(
    manifest,
):
    manifest.write_text("image,quality\nimages/a.png,1\n")
    expected = r"no score column: expected 'mos' or 'score', found the columns "
    with pytest.raises(ValueError, match=expected + r"\['image', 'quality'\]"):
        load_manifest(manifest)


def test_load_manifest_reads_a_score_column_named_score_or_mos(manifest):
    manifest.write_text("image,score\nimages/a.png,1\n")
    assert load_manifest(manifest).y.tolist() == [1.0]
    manifest.write_text("image,score,mos\nimages/a.png,1,2\n")  # mos first
    assert load_manifest(manifest).y.tolist() == [2.0]


def test_load_manifest_non_numeric_mos_raises_naming_the_line(manifest):
    manifest.write_text("image,mos\nimages/a.png,1\nimages/b.jpg,\n")
    with pytest.raises(ValueError, match=r"line 3: column 'mos' must be a number"):
        load_manifest(manifest)


def test_load_manifest_missing_images_raise_naming_them(manifest):
    manifest.write_text("image,mos\nimages/a.png,1\nimages/x.png,2\nimages/y.png,3\n")
    with pytest.raises(
        FileNotFoundError, match=r"2 of the 3 images .*x\.png, .*y\.png"
    ):
        load_manifest(manifest)


def test_load_manifest_missing_file_raises_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv: file not found"):
        load_manifest(tmp_path / "nope.csv")


@pytest.mark.clive
def test_load_manifest_reads_the_clive_dev_manifest_as_it_is():
    if not CLIVE_DEV_MANIFEST.is_file():
        pytest.skip(f"{CLIVE_DEV_MANIFEST} is not present")
    data = load_manifest(CLIVE_DEV_MANIFEST)
    assert_common_bunch(data, 812)
    assert data.name == "clive-dev"
    assert data.groups is None
    assert np.all((data.y >= 0) & (data.y <= 100))
    assert np.all(data.mos_std > 0)


# ---------------------------------------------------------------------------
# load_dataset: recognising a layout by its files
# ---------------------------------------------------------------------------


def assert_same_dataset(found, expected):
    assert found.name == expected.name
    np.testing.assert_array_equal(found.paths, expected.paths)
    np.testing.assert_array_equal(found.y, expected.y)


@pytest.mark.parametrize(
    ("root", "loader", "dataset_type"),
    [
        ("clive_root", load_clive, "clive"),
        ("live_root", load_live, "live"),
        ("csiq_root", load_csiq, "csiq"),
        ("tid2013_root", load_tid2013, "tid2013"),
        ("kadid_root", load_kadid10k, "kadid10k"),
        ("koniq_root", load_koniq10k, "koniq10k"),
    ],
)
def test_load_dataset_recognises_each_official_layout_by_its_files(
    root, loader, dataset_type, request
):
    root = request.getfixturevalue(root)
    assert_same_dataset(load_dataset(root), loader(root))
    assert_same_dataset(load_dataset(str(root), dataset_type), loader(root))


def test_load_dataset_tells_tid2008_from_tid2013_by_the_folder_name(tmp_path):
    root = tmp_path / "TID2008"
    write_tid(root, TID_ENTRIES, std=False)
    assert load_dataset(root).name == "TID2008"
    anonymous = tmp_path / "scores"
    write_tid(anonymous, TID_ENTRIES, std=False)
    with pytest.raises(ValueError, match="dataset_type='tid2008' or 'tid2013'"):
        load_dataset(anonymous)
    assert load_dataset(anonymous, "tid2008").name == "TID2008"


def test_load_dataset_reads_a_manifest_file_or_a_folder_holding_mos_csv(manifest):
    assert_same_dataset(load_dataset(manifest), load_manifest(manifest))
    manifest.rename(manifest.with_name("mos.csv"))
    folder = manifest.parent
    assert_same_dataset(load_dataset(folder), load_manifest(folder / "mos.csv"))
    assert load_dataset(folder, "manifest").name == "my-study"


def test_load_dataset_lists_every_known_layout_for_an_unknown_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_dataset(tmp_path)
    for marker in ("mos.csv", "Data/AllMOS_release.mat", "refnames_all.mat",
                   "dst_imgs/", "mos_with_names.txt", "dmos.csv",
                   "koniq10k_scores_and_distributions.csv"):  # fmt: skip
        assert marker in str(error.value)


def test_load_dataset_rejects_a_missing_path_and_an_unknown_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: no such file or folder"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="dataset_type must be one of"):
        load_dataset(tmp_path, "imagenet")
    assert DATASET_TYPES[0] == "auto"
    assert set(DATASET_TYPES) >= {"manifest", "clive", "tid2008", "koniq10k"}


# ---------------------------------------------------------------------------
# make_synthetic_iqa
# ---------------------------------------------------------------------------


def test_make_synthetic_iqa_shapes_and_keys():
    data = make_synthetic_iqa(
        n_references=3, levels=4, image_size=(32, 40), random_state=0
    )
    n_images = 3 * (1 + 4 * 4)
    assert data.images.shape == (n_images, 32, 40, 3)
    assert data.images.dtype == np.uint8
    assert data.paths is None
    assert (
        data.y.shape == data.groups.shape == data.distortion_level.shape == (n_images,)
    )
    assert BUNCH_KEYS <= set(data)
    assert data.higher_is_better is True and data.mos_std is None
    assert set(data.distortion_type) == {
        "reference",
        "blur",
        "noise",
        "jpeg",
        "contrast",
    }
    assert "NOT human opinions" in data.DESCR


def test_make_synthetic_iqa_is_deterministic_given_random_state():
    first = make_synthetic_iqa(n_references=2, random_state=7)
    second = make_synthetic_iqa(n_references=2, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.y, second.y)
    other = make_synthetic_iqa(n_references=2, random_state=8)
    assert not np.array_equal(first.images, other.images)


def test_make_synthetic_iqa_scores_decrease_with_level_within_each_group():
    data = make_synthetic_iqa(n_references=4, levels=5, random_state=0)
    for group in np.unique(data.groups):
        in_group = data.groups == group
        assert data.y[in_group & (data.distortion_level == 0)].tolist() == [100.0]
        for level in range(5):
            better = data.y[in_group & (data.distortion_level == level)]
            worse = data.y[in_group & (data.distortion_level == level + 1)]
            assert better.min() > worse.max()
        for kind in ["blur", "noise", "jpeg", "contrast"]:
            scores = data.y[in_group & (data.distortion_type == kind)]
            assert np.all(np.diff(scores) < 0)


def test_make_synthetic_iqa_images_move_away_from_their_reference_with_level():
    data = make_synthetic_iqa(n_references=3, levels=5, random_state=1)
    for group in range(3):
        reference = data.images[(data.groups == group) & (data.distortion_level == 0)][
            0
        ]
        for kind in ["blur", "noise", "jpeg", "contrast"]:
            distorted = data.images[
                (data.groups == group) & (data.distortion_type == kind)
            ]
            errors = [
                np.abs(image.astype(float) - reference).mean() for image in distorted
            ]
            assert np.all(np.diff(errors) > 0), (group, kind, errors)


def test_make_synthetic_iqa_writes_png_files_matching_the_in_memory_images(tmp_path):
    kwargs = dict(
        n_references=2, levels=2, distortions=("jpeg", "noise"), random_state=3
    )
    written = make_synthetic_iqa(output_dir=tmp_path / "new" / "folder", **kwargs)
    in_memory = make_synthetic_iqa(**kwargs)
    assert written.images is None
    assert len(written.paths) == 2 * (1 + 2 * 2)
    assert Path(written.paths[1]).name == "ref00_jpeg_1.png"
    for path, pixels in zip(written.paths, in_memory.images, strict=True):
        assert Path(path).is_absolute()
        with Image.open(path) as image:
            assert image.format == "PNG"
            np.testing.assert_array_equal(np.asarray(image), pixels)
    np.testing.assert_array_equal(written.y, in_memory.y)


def test_make_synthetic_iqa_without_references():
    data = make_synthetic_iqa(
        n_references=2, levels=3, include_references=False, random_state=0
    )
    assert len(data.y) == 2 * 4 * 3
    assert data.distortion_level.min() == 1


def test_make_synthetic_iqa_score_noise_is_deterministic_and_bounded():
    first = make_synthetic_iqa(n_references=2, noise=5.0, random_state=0)
    second = make_synthetic_iqa(n_references=2, noise=5.0, random_state=0)
    clean = make_synthetic_iqa(n_references=2, random_state=0)
    np.testing.assert_array_equal(first.y, second.y)
    assert not np.array_equal(first.y, clean.y)
    assert first.y.min() >= 0 and first.y.max() <= 100


def test_make_synthetic_iqa_default_size_is_fast():
    import time

    start = time.perf_counter()
    make_synthetic_iqa(n_references=8, levels=5, random_state=0)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_references": 0}, "n_references"),
        ({"levels": 1.5}, "levels"),
        ({"distortions": ("blur", "rain")}, "distortions"),
        ({"distortions": "blur"}, "distortions"),
        ({"distortions": ()}, "distortions"),
        ({"distortions": ("blur", "blur")}, "distortions"),
        ({"image_size": (4, 64)}, "image_size"),
        ({"image_size": 64}, "image_size"),
        ({"noise": -1.0}, "noise"),
    ],
)
def test_make_synthetic_iqa_rejects_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_iqa(**kwargs)


def test_make_synthetic_iqa_scores_follow_the_documented_formula():
    data = make_synthetic_iqa(
        n_references=1, levels=3, distortions=("blur",), random_state=0
    )
    assert data.y.tolist() == [100.0, 75.0, 50.0, 25.0]
    assert math.isclose(data.y[1], 100 * (1 - 1 / 4))
