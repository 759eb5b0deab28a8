#!/usr/bin/python3
"""PyTorch side of `npm run bench:vs-torch`: one training step of the same
three nets at the same batch, timed the way bench/harness.ts times ours.

Modes:
  plain  ordinary nn.Linear / nn.Conv2d step, SGD momentum 0.9 Nesterov.
  cpg    the official CPG code's masked step for a later task (task 3):
         SharableConv2d / SharableLinear compute weight * binarize(piggymask)
         (threshold 0.005, straight-through gradient to the piggymask);
         after backward, weight decay is added by hand and the gradient of
         every weight not owned by the current task is zeroed, the
         piggymask gradient of every cell not owned by an older task is
         zeroed (manager.do_weight_decay_and_make_grads_zero); weights and
         task-private tensors (biases, BN, classifier) step with SGD
         momentum 0.9 Nesterov, the piggymasks with Adam. Owner maps as the
         TS bench builds them: task 1 owns 1/2 of each sharable tensor,
         task 2 1/4, task 3 (training) 1/4, scattered at random.

Data are synthetic (timing does not depend on values). Prints one JSON line
per (net, mode): net, mode, threads, batch, msPerStep, samplesPerSec,
cpuMsPerStep (process CPU time, all threads), stepsMs, torch version.

Usage: /usr/bin/python3 bench/torch_step.py --threads=1 [--nets=mlp,lenet,vgg-small]
       [--modes=cpg,plain] [--batch=64] [--quick] [--channels-last=auto|on|off]
The thread count is fixed before torch loads (OMP/MKL/OpenBLAS env), as the
wasm side fixes its own at load.
"""
import argparse
import json
import os
import statistics
import sys
import time

NETS = ['mlp', 'lenet', 'vgg-small']
MODES = ['cpg', 'plain']


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--nets', default=','.join(NETS))
    p.add_argument('--modes', default=','.join(MODES))
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--quick', action='store_true')
    p.add_argument('--warmup', type=int, default=None, help='override the per-net warm-up count')
    p.add_argument('--timed', type=int, default=None, help='override the per-net timed count')
    p.add_argument('--channels-last', default='auto', choices=['auto', 'on', 'off'],
                   help="memory format for the conv nets; 'auto' = on (faster here)")
    a = p.parse_args()
    if a.threads < 1:
        p.error('--threads must be >= 1')
    return a


ARGS = parse_args()
for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402  (after the thread environment is set)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

CLASSES = 10
LR = 0.01
LR_MASK = 5e-4
WEIGHT_DECAY = 4e-5
THRESHOLD = 0.005  # DEFAULT_THRESHOLD of the reference
MASK_INIT = 0.01
TASK = 3


class Binarizer(torch.autograd.Function):
    """The reference's binarizer: 1 where the real mask exceeds the threshold; gradient passes straight through."""

    @staticmethod
    def forward(ctx, inputs, threshold):
        return (inputs > threshold).to(inputs.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def owner_map(shape, gen):
    """Task-3-like owner map: 1/2 task 1, 1/4 task 2, 1/4 task 3, scattered."""
    n = 1
    for d in shape:
        n *= d
    perm = torch.randperm(n, generator=gen)
    owners = torch.empty(n, dtype=torch.uint8)
    owners[perm[: n // 2]] = 1
    owners[perm[n // 2: (3 * n) // 4]] = 2
    owners[perm[(3 * n) // 4:]] = TASK
    return owners.view(shape)


class Sharable(nn.Module):
    """SharableLinear / SharableConv2d: weight ⊙ binarize(piggymask); owner map kept for the gradient masking."""

    def __init__(self, weight_shape, gen):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(weight_shape))
        owners = owner_map(weight_shape, gen)
        self.register_buffer('not_own', owners != TASK)
        # piggymask trains only where an older task owns the weight (reference: mask.eq(0) | mask.ge(task) zeroed)
        self.register_buffer('not_old', (owners == 0) | (owners >= TASK))
        self.piggymask = nn.Parameter(torch.full(weight_shape, MASK_INIT))

    def effective(self):
        return self.weight * Binarizer.apply(self.piggymask, THRESHOLD)


class SharableLinear(Sharable):
    def __init__(self, fin, fout, gen):
        super().__init__((fout, fin), gen)
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        self.bias = nn.Parameter(torch.zeros(fout))  # task-private

    def forward(self, x):
        return F.linear(x, self.effective(), self.bias)


class SharableConv2d(Sharable):
    def __init__(self, cin, cout, k, bias, gen):
        super().__init__((cout, cin, k, k), gen)
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.padding = k // 2  # 'same' for odd k, stride 1

    def forward(self, x):
        return F.conv2d(x, self.effective(), self.bias, 1, self.padding)


def build(net, cpg, gen):
    """The nets of bench/plain.ts and src/algebra/architectures.ts; the classifier is always task-private (ordinary)."""
    lin = (lambda i, o: SharableLinear(i, o, gen)) if cpg else nn.Linear
    conv = (lambda i, o, k, b: SharableConv2d(i, o, k, b, gen)) if cpg else (lambda i, o, k, b: nn.Conv2d(i, o, k, padding=k // 2, bias=b))
    if net == 'mlp':
        return nn.Sequential(nn.Flatten(), lin(784, 400), nn.ReLU(), lin(400, 400), nn.ReLU(), nn.Linear(400, CLASSES)), (1, 28, 28)
    if net == 'lenet':
        return nn.Sequential(
            conv(1, 20, 5, True), nn.ReLU(), nn.MaxPool2d(2),
            conv(20, 50, 5, True), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), lin(7 * 7 * 50, 500), nn.ReLU(), nn.Linear(500, CLASSES),
        ), (1, 28, 28)
    if net == 'vgg-small':
        layers, cin = [], 3
        for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 'M']:
            if v == 'M':
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [conv(cin, v, 3, False), nn.BatchNorm2d(v), nn.ReLU()]
                cin = v
        layers += [nn.Flatten(), nn.Linear(4 * 4 * 256, CLASSES)]
        return nn.Sequential(*layers), (3, 32, 32)
    raise SystemExit(f"unknown net '{net}'")


def make_step(net, mode, batch, channels_last):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    cpg = mode == 'cpg'
    model, shape = build(net, cpg, gen)
    model.train()
    x = torch.randn((batch,) + shape, generator=gen)
    y = torch.randint(0, CLASSES, (batch,), generator=gen)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    sharable = [m for m in model.modules() if isinstance(m, Sharable)]
    masks = [m.piggymask for m in sharable]
    mask_ids = {id(p) for p in masks}
    weights = [p for p in model.parameters() if id(p) not in mask_ids]
    opt = torch.optim.SGD(weights, lr=LR, momentum=0.9, nesterov=True, weight_decay=0.0)
    opt_mask = torch.optim.Adam(masks, lr=LR_MASK) if cpg else None

    def step():
        opt.zero_grad(set_to_none=True)
        if opt_mask is not None:
            opt_mask.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if cpg:
            with torch.no_grad():
                for m in sharable:
                    g = m.weight.grad
                    g.add_(m.weight, alpha=WEIGHT_DECAY)
                    g.masked_fill_(m.not_own, 0)
                    m.piggymask.grad.masked_fill_(m.not_old, 0)
        opt.step()
        if opt_mask is not None:
            opt_mask.step()
        value = loss.item()
        int((logits.argmax(1) == y).sum().item())
        if value != value or value in (float('inf'), float('-inf')):
            raise RuntimeError(f'non-finite loss {value}')

    return step


def plan(net):
    if ARGS.quick:
        w, t = {'mlp': (3, 5), 'lenet': (2, 3), 'vgg-small': (1, 2)}[net]
    else:
        w, t = {'mlp': (10, 30), 'lenet': (3, 10), 'vgg-small': (2, 5)}[net]
    return (ARGS.warmup if ARGS.warmup is not None else w, ARGS.timed if ARGS.timed is not None else t)


def main():
    version = torch.__version__
    for net in [n for n in ARGS.nets.split(',') if n]:
        for mode in [m for m in ARGS.modes.split(',') if m]:
            if mode not in MODES:
                raise SystemExit(f"unknown mode '{mode}'")
            cl = net != 'mlp' and ARGS.channels_last != 'off'
            warmup, timed = plan(net)
            step = make_step(net, mode, ARGS.batch, cl)
            for _ in range(warmup):
                step()
            times, cpu = [], []
            for _ in range(timed):
                c0 = time.process_time()
                t0 = time.perf_counter()
                step()
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            ms = statistics.median(times)
            print(json.dumps({
                'net': net, 'mode': mode, 'variant': 'torch', 'backend': 'torch-cpu', 'threads': torch.get_num_threads(),
                'batch': ARGS.batch, 'status': 'ok', 'msPerStep': round(ms, 2), 'samplesPerSec': round(ARGS.batch * 1000 / ms, 1),
                'cpuMsPerStep': round(statistics.median(cpu), 2), 'stepsMs': [round(t, 1) for t in times], 'warmup': warmup,
                'channelsLast': cl, 'torch': version,
            }), flush=True)


if __name__ == '__main__':
    main()
