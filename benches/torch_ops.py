"""PyTorch CPU timings of the operations that tests/norm_speed.rs and
tests/norm_model_speed.rs time on burn's Flex backend, for a side-by-side table.

Run (never at the same time as a Rust benchmark):
    /tmp/torchenv/bin/python benches/torch_ops.py            # ops + resnet8/20 + resnet18
    /tmp/torchenv/bin/python benches/torch_ops.py --no-resnet18
    /tmp/torchenv/bin/python benches/torch_ops.py --passes   # per-pass 3x3 convolutions

`--passes` times each pass of the 3x3 convolutions that tests/conv_speed.rs's
`conv3x3_kernel_passes` times (forward, input gradient, weight gradient, batch 64), in
torch's default NCHW layout and in channels_last, to find the layers where fer's kernels
trail oneDNN's.

Shapes match the Rust side: [64, 16, 40, 40] activations, batch 64 of 40x40 grey
crops, SGD with Nesterov momentum 0.9 and weight decay 5e-4. Op times are the median
of 7 runs after one warm-up, in milliseconds; the backward of an op is seeded with
ones, as burn's `Tensor::backward` does.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

RUNS = 7
SHAPE = (64, 16, 40, 40)


def median_ms(call):
    call()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def report(what, ms):
    print(f"{what:<62} {ms:>9.2f} ms")


# The zoo's basic-block ResNets, as in shared/bench/pytorch_reference.py.
class Basic(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(c)
        self.sc = nn.Sequential()
        if stride != 1 or cin != c:
            self.sc = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(y)) + self.sc(x))


class ResNet(nn.Module):
    def __init__(self, blocks, widths, classes=7):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        layers, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            for j in range(n):
                layers.append(Basic(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {
    "resnet8": lambda: ResNet((1, 1, 1), (16, 32, 64)),
    "resnet20": lambda: ResNet((3, 3, 3), (16, 32, 64)),
    "resnet18": lambda: ResNet((2, 2, 2, 2), (64, 128, 256, 512)),
}


def ops():
    x = torch.randn(SHAPE) * 2 + 0.5
    per_channel = torch.randn(1, SHAPE[1], 1, 1)
    report("relu", median_ms(lambda: F.relu(x)))
    report("mul, same shape, contiguous", median_ms(lambda: x * x))
    report("mul by [1,C,1,1] (broadcast)", median_ms(lambda: x * per_channel))

    bn = nn.BatchNorm2d(SHAPE[1]).train()
    xg = x.clone().requires_grad_()
    ones = torch.ones(SHAPE)
    report("BatchNorm2d forward (train)", median_ms(lambda: bn(xg)))
    report("BatchNorm2d forward + backward (train)", median_ms(lambda: bn(xg).backward(ones)))
    bn.eval()
    with torch.no_grad():
        report("BatchNorm2d forward (inference)", median_ms(lambda: bn(x)))

    for channels, side in ((16, 40), (32, 20), (64, 10), (64, 40)):
        images = torch.randn(64, channels, side, side)
        weight = torch.randn(channels, channels, 3, 3) * 0.1
        label = f"conv 3x3 {channels}->{channels} @{side}x{side}, batch 64"
        with torch.no_grad():
            report(f"{label} forward", median_ms(lambda: F.conv2d(images, weight, padding=1)))
        images_g = images.clone().requires_grad_()
        weight_g = weight.clone().requires_grad_()
        grad = torch.ones(64, channels, side, side)
        report(
            f"{label} fwd + bwd",
            median_ms(lambda: F.conv2d(images_g, weight_g, padding=1).backward(grad)),
        )


PASS_SHAPES = [(c, c, side, 1) for c, side in ((16, 40), (32, 20), (64, 10), (64, 40))] + [
    (128, 128, 20, 1),
    (256, 256, 10, 1),
    (512, 512, 5, 1),
    (64, 128, 40, 2),
    (128, 256, 20, 2),
    (256, 512, 10, 2),
]


def conv_passes():
    """Forward, input gradient and weight gradient alone, as aten's backward runs them."""
    backward = torch.ops.aten.convolution_backward
    for cin, cout, side, stride in PASS_SHAPES:
        out = (side + 2 - 3) // stride + 1
        macs = 64 * cin * cout * 9 * out * out
        for layout in (torch.contiguous_format, torch.channels_last):
            x = torch.full((64, cin, side, side), 0.5).contiguous(memory_format=layout)
            w = torch.full((cout, cin, 3, 3), 0.25).contiguous(memory_format=layout)
            g = torch.full((64, cout, out, out), 0.5).contiguous(memory_format=layout)

            def grads(mask):
                return lambda: backward(
                    g, x, w, None, [stride] * 2, [1, 1], [1, 1], False, [0, 0], 1, mask
                )

            name = "nchw" if layout is torch.contiguous_format else "nhwc"
            label = f"torch 3x3 {cin}->{cout} @{side}x{side} /{stride} {name}"
            with torch.no_grad():
                for what, call in (
                    ("forward", lambda: F.conv2d(x, w, stride=stride, padding=1)),
                    ("input gradient", grads([True, False, False])),
                    ("weight gradient", grads([False, True, False])),
                ):
                    ms = median_ms(call)
                    report(f"{label} {what} ({2 * macs / ms / 1e6:.0f} GFLOP/s)", ms)


def training(name, steps):
    torch.manual_seed(0)
    model = MODELS[name]().train()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    images = torch.rand(64, 1, 40, 40)
    labels = torch.arange(64) % 7

    def step():
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    print(
        f"{name:<10} batch 64: {64 * steps / elapsed:>7.1f} img/s  "
        f"step {1e3 * elapsed / steps:>8.1f} ms over {steps} steps"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-resnet18", action="store_true")
    parser.add_argument("--passes", action="store_true", help="only the per-pass conv table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.passes:
        conv_passes()
        return
    ops()
    training("resnet8", 5)
    training("resnet20", 5)
    if not args.no_resnet18:
        training("resnet18", 2)


if __name__ == "__main__":
    main()
