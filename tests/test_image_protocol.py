"""Image files train and evaluate in the paper's ImageNet protocol, as torchvision computes it;
the seeded views do not depend on workers, resuming or data parallelism; released weights load
from torchvision's cache without network."""

import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.io import decode_image
from torchvision.transforms import v2

from lskd.data.batches import epoch_generator, eval_batches, train_batches
from lskd.data.errors import DataError
from lskd.data.image_files import ImageFiles, view_seed
from lskd.models import build_model, classifier, released

INFO = {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3]}
SIZES = [(50, 38), (38, 50), (64, 30), (30, 30), (45, 60), (70, 52), (33, 41)]  # (w, h)


@pytest.fixture
def jpeg_tree(tmp_path):
    """Noise JPEGs of mixed sizes and aspect ratios (a random crop of each shows)."""
    rng = np.random.default_rng(0)
    names = []
    for i, (w, h) in enumerate(SIZES):
        name = f"c{i % 2}/img{i}.JPEG"
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            tmp_path / name, quality=90
        )
        names.append(name)
    return tmp_path, names


def standardise(x: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(INFO["mean"]), torch.tensor(INFO["std"])
    return (x.float() / 255 - mean[:, None, None]) / std[:, None, None]


def test_training_batches_are_torchvisions_crops_with_the_same_draws(jpeg_tree):
    root, names = jpeg_tree
    files, labels = ImageFiles(str(root), names, 16), torch.arange(len(names))
    gen = epoch_generator(5, 2)
    batches = list(train_batches(files, labels, 3, gen, INFO))
    order = torch.randperm(len(names), generator=epoch_generator(5, 2))
    reference = v2.Compose([v2.RandomResizedCrop(16), v2.RandomHorizontalFlip()])
    crops = []
    for b, (x, y, idx) in enumerate(batches):
        assert torch.equal(idx, order[3 * b : 3 * b + 3]) and torch.equal(y, labels[idx])
        for row, i in enumerate(idx.tolist()):
            # torchvision's own transform, its global generator seeded with the view's seed
            torch.manual_seed(view_seed(epoch_generator(5, 2).initial_seed(), 3 * b + row))
            expected = reference(decode_image(str(root / names[i])))
            torch.testing.assert_close(x[row], standardise(expected), rtol=0, atol=1e-6)
            crops.append(expected)
    assert len(crops) == 6  # 3 + 3 (+ 1, dropped)
    # the views are random crops of the originals, not one fixed view
    assert len({c.float().mean().item() for c in crops}) == len(crops)


def test_a_sample_gets_other_crops_in_other_epochs(jpeg_tree):
    root, names = jpeg_tree
    files, labels = ImageFiles(str(root), names, 16), torch.arange(len(names))
    views = []
    for epoch in range(2):
        batch = next(train_batches(files, labels, 7, epoch_generator(0, epoch), INFO))
        views.append(batch[0][batch[2].argsort()])  # by sample
    assert not torch.equal(views[0], views[1])


def test_evaluation_is_resize_256_centre_crop_224(jpeg_tree, tmp_path):
    root = tmp_path / "large"
    rng = np.random.default_rng(1)
    names = []
    for i, (w, h) in enumerate([(500, 375), (300, 451), (260, 260)]):
        names.append(f"img{i}.JPEG")
        root.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / names[-1])
    files, labels = ImageFiles(str(root), names, 224), torch.arange(3)
    reference = v2.Compose([v2.Resize(256), v2.CenterCrop(224)])
    (x, y), *rest = list(eval_batches(files, labels, 3, INFO))
    assert not rest and torch.equal(y, labels) and x.shape == (3, 3, 224, 224)
    for i, name in enumerate(names):
        expected = reference(decode_image(str(root / name)))
        torch.testing.assert_close(x[i], standardise(expected), rtol=0, atol=1e-6)
        assert torch.equal(files[i], expected)  # indexing gives the evaluation view too


def test_views_do_not_depend_on_workers_resuming_or_data_parallelism(jpeg_tree):
    root, names = jpeg_tree
    labels = torch.arange(len(names))
    single = ImageFiles(str(root), names, 16)
    streamed = ImageFiles(str(root), names, 16, workers=2)
    for epoch in range(2):  # the second epoch reuses the persistent workers
        a = list(train_batches(single, labels, 3, epoch_generator(1, epoch), INFO))
        b = list(train_batches(streamed, labels, 3, epoch_generator(1, epoch), INFO))
        for (xa, ya, ia), (xb, yb, ib) in zip(a, b, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb) and torch.equal(ia, ib)

    # resumed after batch 1: the epoch's order, the generator as it was there (a CutMix draw
    # moved it), a fresh process's generator object
    gen = epoch_generator(1, 0)
    order = torch.randperm(len(names), generator=gen)
    straight = train_batches(single, labels, 3, gen, INFO, order=order)
    first = next(straight)
    torch.rand(1, generator=gen)
    state = gen.get_state()
    rest = list(straight)
    resumed_gen = epoch_generator(1, 0)
    resumed_gen.set_state(state)
    resumed = list(train_batches(single, labels, 3, resumed_gen, INFO, order=order, first_batch=1))
    assert len(resumed) == len(rest) == 1 and torch.equal(resumed[0][0], rest[0][0])
    assert not torch.equal(first[0], rest[0][0])

    # two ranks: each gets its rows of every global batch, viewed as one process views them
    whole = list(train_batches(single, labels, 3, epoch_generator(1, 0), INFO))
    for rank in range(2):
        world = SimpleNamespace(rank=rank, size=2)
        part = list(train_batches(streamed, labels, 3, epoch_generator(1, 0), INFO, world=world))
        for (xw, yw, _), (xp, yp, _) in zip(whole, part, strict=True):
            assert torch.equal(xp, xw[rank::2]) and torch.equal(yp, yw[rank::2])


def test_the_config_names_the_augmentation(jpeg_tree):
    root, names = jpeg_tree
    files, labels = ImageFiles(str(root), names, 16), torch.arange(len(names))
    # pad_crop on image files: the evaluation views, padded and randomly cropped
    x, _, idx = next(
        train_batches(files, labels, 7, epoch_generator(0, 0), INFO | {"augment": "pad_crop"})
    )
    held = files[idx]
    assert not torch.equal(x, standardise(held))
    # no augmentation (a student on cached teacher logits): the evaluation views
    x, _, idx = next(train_batches(files, labels, 7, epoch_generator(0, 0), INFO, aug=False))
    torch.testing.assert_close(x, standardise(files[idx]), rtol=0, atol=1e-6)
    pixels = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    with pytest.raises(DataError, match="in-memory images .fashion_mnist. use pad_crop"):
        next(
            train_batches(
                pixels,
                torch.arange(4),
                2,
                epoch_generator(0, 0),
                {"mean": [0.5], "std": [0.5], "augment": "random_resized_crop"},
            )
        )


def hashed(path: Path, state: dict) -> Path:
    """``state`` saved as ``<arch>-<its SHA-256 prefix>.pth`` beside ``path`` (torch.hub's way)."""
    torch.save(state, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path.rename(path.with_name(f"{path.stem}-{digest[:10]}.pth"))


def test_released_weights_load_from_torchvisions_cache_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    folder = released.folder_of("")
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(DataError) as err:
        released.released_model("resnet18", 1000, 3, "imagenet", folder)
    assert str(err.value).startswith(f"{expected}: torchvision's resnet18 IMAGENET1K_V1")
    assert "\n" not in str(err.value)

    torch.manual_seed(0)
    random = build_model("resnet18", 1000).state_dict()
    expected.parent.mkdir(parents=True)
    torch.save(random, expected)  # a random model under torchvision's name: refused
    with pytest.raises(DataError, match=r"resnet18-f37072fd\.pth: SHA-256 \w+\.\.\. does not begin "
                       r"with f37072fd \(the hash in its name\)"):  # fmt: skip
        released.released_model("resnet18", 1000, 3, "imagenet", folder)
    expected.unlink()
    stand_in = hashed(expected.with_name("resnet18.pth"), random)  # a rehearsal's stand-in
    model, record = released.released_model("resnet18", 1000, 3, "imagenet", folder)
    for key, value in model.state_dict().items():
        assert torch.equal(value, random[key]), key
    assert record["file"] == stand_in.name and record["released"] is False
    assert record["sha256"] == hashlib.sha256(stand_in.read_bytes()).hexdigest()
    with pytest.raises(DataError, match=r"weights for 1000 classes, but the dataset has 200"):
        released.released_model("resnet18", 200, 3, "imagenet", folder)
    with pytest.raises(DataError, match=r"for RGB images with the imagenet stem"):
        released.released_model("resnet18", 1000, 1, "imagenet", folder)


def test_stand_in_weights_of_a_miniature_class_count(tmp_path):
    torch.manual_seed(0)
    state = build_model("mobilenet_v2", 5).state_dict()
    hashed(tmp_path / "mobilenet_v2.pth", state)
    model, record = released.released_model("mobilenet_v2", 5, 3, "imagenet", tmp_path)
    assert record["released"] is False and classifier(model).weight.shape[0] == 5
    hashed(tmp_path / "mobilenet_v2.pth", build_model("mobilenet_v2", 7).state_dict())
    with pytest.raises(DataError, match=r"found 2 other mobilenet_v2-<hash>\.pth files"):
        released.released_model("mobilenet_v2", 5, 3, "imagenet", tmp_path)


def test_fetch_weights_downloads_each_release_once_and_checks_it(tmp_path, monkeypatch):
    """`lskd fetch-weights --configfile configs/paper.yaml`, with the download stubbed (CI has no
    network): one file per released architecture, each checked against its name's hash."""
    import yaml

    config = yaml.safe_load((Path(__file__).parents[1] / "configs/paper.yaml").read_text())
    config["torchvision_weights"] = str(tmp_path)
    fetched = []

    def download(url, dest, progress=True):
        fetched.append(url)
        Path(dest).write_bytes(b"not the release")

    with pytest.raises(DataError, match=r"SHA-256 \w+\.\.\. does not begin with"):
        released.fetch(config, download)  # stops at the first file that is not what it says
    assert len(fetched) == 1 and fetched[0].startswith("https://download.pytorch.org/")
    for f in tmp_path.iterdir():
        f.unlink()
    x = hashlib.sha256(b"x").hexdigest()[:8]  # names whose hash fits the stub's content
    monkeypatch.setattr(released, "release_name", lambda arch: f"{arch}-{x}.pth")
    fetched.clear()
    files = released.fetch(config, lambda url, dest, progress: fetched.append(url)
                           or Path(dest).write_bytes(b"x"))  # fmt: skip
    archs = {t["arch"] for t in config["teachers"].values() if t.get("weights")}
    assert len(fetched) == len(archs) == len(files) == 8  # R18/34/101, MBv2, DN121, RX50/101, WRN
    assert released.fetch(config, download) == files and len(fetched) == 8  # once only
