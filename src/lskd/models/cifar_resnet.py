"""The CIFAR ResNets of He et al. (2016, Section 4.2) as the KD literature trains them (CRD, Tian
et al. 2020; mdistiller): a 3x3 stride-1 stem, three stages of basic blocks at stride 1, 2, 2,
global average pooling and one linear layer. Depth 6n + 2 has n blocks per stage. ``x4``
widens every layer four times (resnet8x4: 32, then 64, 128, 256 channels), for a teacher that
costs more compute but runs closer to the matmul peak. A block's shortcut is a 1x1 conv and BN
where the shape changes (option B), as in those codebases.

On 28x28 Fashion-MNIST the feature maps are 28, 14 and 7 pixels wide; the ImageNet stem of
torchvision's ResNets would leave 7x7 before the first block.
"""

from torch import nn

from lskd.cifar_archs import CIFAR_RESNETS


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
    conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)
    return [conv, nn.BatchNorm2d(c_out)]


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.residual = nn.Sequential(
            *_conv_bn(c_in, c_out, 3, stride), nn.ReLU(inplace=True), *_conv_bn(c_out, c_out, 3, 1)
        )
        changes = stride != 1 or c_in != c_out
        self.shortcut = nn.Sequential(*_conv_bn(c_in, c_out, 1, stride)) if changes else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(self.residual(x) + identity)


class CifarResNet(nn.Module):
    def __init__(self, arch: str, num_classes: int, in_channels: int = 3):
        super().__init__()
        blocks, stem_width, widths = CIFAR_RESNETS[arch]
        self.stem = nn.Sequential(*_conv_bn(in_channels, stem_width, 3, 1), nn.ReLU(inplace=True))
        layers, c_in = [], stem_width
        for stage, width in enumerate(widths):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(c_in, width, stride))
                c_in = width
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for block in layers:  # Goyal et al. (2017): each residual branch starts at zero
            nn.init.zeros_(block.residual[-1].weight)

    def forward(self, x):
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))
