"""The miniature datasets (lskd.miniature) are read by the same readers as the real releases."""

import pytest
from PIL import Image

from lskd import miniature
from lskd.data import official
from lskd.data.image_files import decode
from lskd.nmt.corpus import split_iwslt14


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return miniature.write(tmp_path_factory.mktemp("mini"), classes=3, train=4, val=2)


@pytest.mark.parametrize(
    "kind, folder, train",
    [
        ("image_folder", "imagenet", 12),
        ("cub200", "CUB_200_2011", 12),
        ("imaterialist2019", "imat2019", 12),
        ("inaturalist2019", "inat2019", 8 + 4 + 2),  # 2 x 4 halving: 8, 4, 2
        ("imagenet_lt", "imagenet_lt", 14),
        ("places_lt", "places_lt", 14),
    ],
)
def test_every_official_reader_takes_its_miniature(tiny, kind, folder, train):
    rows, classes = official.READERS[kind](tiny / folder)
    assert len(classes) == 3
    assert (rows.split == "train").sum() == train and (rows.split == "val").sum() == 6
    assert rows.groupby("split").label.nunique().to_dict() == {"train": 3, "val": 3}


def test_images_come_in_several_sizes_and_modes_and_decode_to_rgb(tiny):
    files = sorted((tiny / "imagenet").rglob("*.JPEG"))
    modes, sizes = set(), set()
    for path in files:
        with Image.open(path) as picture:
            modes.add(picture.mode)
            sizes.add(picture.size)
    assert {"RGB", "L", "CMYK"} <= modes and len(sizes) > 10
    assert all(decode(path).shape[0] == 3 for path in files)


def test_the_iwslt14_archive_is_read_as_prepare_iwslt14_reads_it(tiny):
    splits = split_iwslt14(str(tiny / "iwslt14" / "de-en.tgz"))
    assert len(splits["train"]) == 180 and len(splits["test"]) == 5 * 4
    de, en = splits["train"][0]
    assert de.startswith("Der ") and en.startswith("The ") and not de.startswith("<")
