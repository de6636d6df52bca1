"""Eq. 4 and Appendix E losses against independent computations; frozen teacher; cache."""

import copy

import pytest
import torch
import torch.nn.functional as F

from conftest import distillation
from lskd import teacher_logits
from lskd.data.errors import DataError
from lskd.distill import kd_loss, mixed_kd_loss
from lskd.inference import load_model
from lskd.losses import LabelSmoothing
from lskd.models import build_model
from lskd.recipe import Recipe
from lskd.train import train


def logits_pair(seed=0, n=16, k=10):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=gen) * 2, torch.randn(n, k, generator=gen) * 3


def test_eq4_is_cross_entropy_to_teacher_probs():
    s, t = logits_pair()
    p_t = torch.softmax(t, 1).numpy()
    log_p_s = torch.log_softmax(s.double(), 1).numpy()
    expected = -(p_t * log_p_s).sum(1).mean()
    assert float(kd_loss(s, t)) == pytest.approx(expected, rel=1e-5)


def test_property1_kl_and_cross_entropy_differ_by_teacher_entropy_same_gradient():
    s, t = logits_pair(1)
    s1 = s.clone().requires_grad_()
    s2 = s.clone().requires_grad_()
    ce = kd_loss(s1, t)
    kl = F.kl_div(F.log_softmax(s2, 1), F.softmax(t, 1), reduction="batchmean")
    p_t = F.softmax(t, 1)
    entropy = -(p_t * F.log_softmax(t, 1)).sum(1).mean()
    torch.testing.assert_close(ce, kl + entropy)
    ce.backward()
    kl.backward()
    torch.testing.assert_close(s1.grad, s2.grad)
    # and the gradient is (p_S - p_T) / N, as Section 2 writes for cross-entropy
    torch.testing.assert_close(s1.grad, (F.softmax(s, 1) - p_t) / len(s))


@pytest.mark.parametrize("temperature", [0.5, 2.0, 4.0])
def test_temperature_scales_by_t_squared(temperature):
    s, t = logits_pair(2)
    expected = kd_loss(s / temperature, t / temperature) * temperature**2
    torch.testing.assert_close(kd_loss(s, t, temperature), expected)


def test_lambda_mix_by_hand():
    s = torch.tensor([[2.0, 0.0, -1.0]])
    t = torch.tensor([[0.0, 1.0, 0.0]])
    y = torch.tensor([0])
    lam = 0.3
    p_s = torch.exp(s) / torch.exp(s).sum()
    p_t = torch.exp(t) / torch.exp(t).sum()
    hard = -torch.log(p_s[0, 0])
    soft = -(p_t * torch.log(p_s)).sum()
    torch.testing.assert_close(mixed_kd_loss(s, t, y, lam), lam * hard + (1 - lam) * soft)
    torch.testing.assert_close(mixed_kd_loss(s, t, y, 0.0), kd_loss(s, t))


@pytest.mark.parametrize("bad", [{"lam": -0.1}, {"lam": 1.1}, {"temperature": 0.0}])
def test_bad_lambda_or_temperature(bad):
    s, t = logits_pair()
    with pytest.raises(ValueError):
        mixed_kd_loss(
            s,
            t,
            torch.zeros(16, dtype=torch.long),
            bad.get("lam", 0.5),
            bad.get("temperature", 1.0),
        )


@pytest.fixture
def data_and_teacher(data, tmp_path):
    recipe = Recipe(epochs=1, lr=0.05, batch_size=32)
    train(data, tmp_path / "teacher", "resnet18", recipe, LabelSmoothing(0.1))
    return data, tmp_path / "teacher" / "model.pt"


def test_teacher_frozen_during_distillation(data_and_teacher, tmp_path):
    data, teacher_path = data_and_teacher
    teacher = load_model(teacher_path)
    before = copy.deepcopy(teacher.state_dict())
    teacher.train()  # Distillation must put it in eval mode (BN statistics frozen too)
    train(
        data,
        tmp_path / "student",
        "resnet18",
        Recipe(epochs=1, lr=0.05, batch_size=32),
        distillation(teacher),
    )
    assert not teacher.training
    for key, value in teacher.state_dict().items():
        assert torch.equal(value.cpu(), before[key].cpu()), key


def test_cached_and_online_teacher_give_same_loss(data_and_teacher, tmp_path):
    from lskd.data.batches import epoch_generator, train_batches
    from lskd.data.manifest import load_split

    data, teacher_path = data_and_teacher
    cache = tmp_path / "cache.pt"
    teacher_logits.build(teacher_path, data, cache)
    images, labels, info = load_split(data, "train")
    cached = teacher_logits.load(cache, teacher_path, len(labels))
    online = distillation(load_model(teacher_path))
    offline = distillation(load_model(teacher_path), cached=cached)
    student = build_model("resnet18", 10, 1).eval()
    gen = epoch_generator(0, 0)
    for x, y, idx in train_batches(images, labels, 16, gen, info, aug=False):
        s = student(x)
        a = mixed_kd_loss(s, online.teacher_outputs(x, idx, "fp32"), y, 0.3)
        b = mixed_kd_loss(s, offline.teacher_outputs(x, idx, "fp32"), y, 0.3)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_cache_for_another_checkpoint_is_refused(data_and_teacher, tmp_path):
    data, teacher_path = data_and_teacher
    cache = tmp_path / "cache.pt"
    teacher_logits.build(teacher_path, data, cache)
    other = tmp_path / "other"
    train(data, other, "resnet18", Recipe(epochs=1, lr=0.01, batch_size=32), LabelSmoothing(0.0), 1)
    with pytest.raises(DataError, match="another teacher checkpoint"):
        teacher_logits.load(cache, other / "model.pt", 120)


def test_vectorised_augmentation_equals_a_per_sample_loop():
    from lskd.data.batches import augment

    images = torch.randint(0, 256, (9, 2, 5, 6), dtype=torch.uint8)
    out = augment(images, torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(7)  # the same draws, one sample at a time
    dy, dx = torch.randint(0, 5, (9,), generator=gen), torch.randint(0, 5, (9,), generator=gen)
    flip = torch.rand(9, generator=gen) < 0.5
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for i in range(9):
        crop = padded[i, :, dy[i] : dy[i] + 5, dx[i] : dx[i] + 6]
        assert torch.equal(out[i], crop.flip(-1) if flip[i] else crop)
