"""ReActNet (Liu et al., 2020) on the Bi-Real Net ResNet-18 backbone (Liu et al., 2018).

- Every 3x3 convolution is binary and has its own shortcut (16 such blocks in 4 stages of 4).
- Activations: RSign (a learnable per-channel shift, then sign) in the forward pass; the gradient
  is Bi-Real's piecewise polynomial approximation of sign: 2 + 2x on [-1, 0), 2 - 2x on [0, 1),
  0 elsewhere.
- Weights: sign(W) times the per-output-channel mean |W| (detached); straight-through gradient
  (through clamp(W, -1, 1), as the authors' code). ``binary_weights=False`` keeps real weights:
  the first step of the two-step training.
- RPReLU after each block: shift, PReLU, shift (learnable per channel).
- Downsampling shortcut: average pool, real 1x1 conv, BN. The stem conv and the classifier are
  real-valued.
"""

import torch
from torch import nn


def sign(x: torch.Tensor) -> torch.Tensor:
    """-1 for x < 0, +1 otherwise (the paper's Sign; torch.sign would give 0 at 0)."""
    return torch.where(x < 0, -torch.ones_like(x), torch.ones_like(x))


class BinaryActivation(nn.Module):
    """sign(x) forward, piecewise-polynomial gradient backward."""

    def forward(self, x):
        poly = torch.where(
            x < -1,
            -torch.ones_like(x),
            torch.where(
                x < 0, x * x + 2 * x, torch.where(x < 1, -x * x + 2 * x, torch.ones_like(x))
            ),
        )
        return sign(x).detach() + (poly - poly.detach())  # exact +-1 forward, poly's gradient


class LearnableBias(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        return x + self.bias


class RSign(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.shift = LearnableBias(channels)
        self.binarize = BinaryActivation()

    def forward(self, x):
        return self.binarize(self.shift(x))


class RPReLU(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.shift_in = LearnableBias(channels)
        self.prelu = nn.PReLU(channels)
        self.shift_out = LearnableBias(channels)

    def forward(self, x):
        return self.shift_out(self.prelu(self.shift_in(x)))


class BinaryConv2d(nn.Conv2d):
    """3x3 convolution with binary weights alpha_c * sign(W) (real weights when disabled)."""

    def __init__(self, cin, cout, stride=1, binary_weights=True):
        super().__init__(cin, cout, 3, stride, 1, bias=False)
        nn.init.normal_(self.weight, std=0.01)
        self.binary_weights = binary_weights

    def effective_weight(self) -> torch.Tensor:
        w = self.weight
        if not self.binary_weights:
            return w
        scale = w.abs().mean(dim=(1, 2, 3), keepdim=True).detach()
        clipped = w.clamp(-1.0, 1.0)
        return (scale * sign(w)).detach() + (clipped - clipped.detach())

    def forward(self, x):
        return self._conv_forward(x, self.effective_weight(), None)


class BinaryBlock(nn.Module):
    """RSign -> binary 3x3 conv -> BN, plus its own shortcut, then RPReLU."""

    def __init__(self, cin, cout, stride=1, binary_weights=True):
        super().__init__()
        self.rsign = RSign(cin)
        self.conv = BinaryConv2d(cin, cout, stride, binary_weights)
        self.bn = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                # ceil_mode: odd sizes (28x28 inputs) pool to the strided conv's output size
                nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                if stride > 1
                else nn.Identity(),
                nn.Conv2d(cin, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
        self.rprelu = RPReLU(cout)

    def forward(self, x):
        return self.rprelu(self.bn(self.conv(self.rsign(x))) + self.shortcut(x))


class ReActNetResNet18(nn.Module):
    WIDTHS = (64, 128, 256, 512)

    def __init__(self, num_classes=1000, in_channels=3, stem="imagenet", binary_weights=True):
        super().__init__()
        if stem == "small":
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64)
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False),
                nn.BatchNorm2d(64),
                nn.MaxPool2d(3, 2, 1),
            )
        blocks, cin = [], 64
        for i, width in enumerate(self.WIDTHS):
            for j in range(4):  # ResNet-18's two 2-conv blocks per stage = four 1-conv blocks
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(BinaryBlock(cin, width, stride, binary_weights))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))
