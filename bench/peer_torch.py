#!/usr/bin/env python3
"""A peer, written the way a researcher would write it: cell-50's model and round as a plain
PyTorch loop (issue 17), to set airlora's samples/s beside. Benchmark only: no test depends on it.

Same model: ViT-style 7x7 patches of 28x28 digits, CLS token, learned positions, d 128, 2 pre-LN
blocks, 4 heads, FFN 256 with GELU as x*sigmoid(1.702x), LoRA rank 8 (alpha 16) on query and value,
mean pool, LayerNorm, dense to 10 classes; frozen weights read from the committed checkpoint
(models/checkpoints/digits-foundation, a TensorFlow.js weights manifest). Same round: 12 admitted
devices (cell-50's steady state), each starting from the global LoRA and head, 5 local iterations
of Adam (lr 1e-3) on batches of 16, FedAvg of LoRA and heads, then scoring 1,000 test samples.
What it leaves out: the split (no cut messages), the channel, the scheduler, the event log. Inputs
are random pixels and labels (speed does not depend on the values).

  OPENBLAS_NUM_THREADS=1 python3 bench/peer_torch.py [--threads 1] [--rounds 6]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CKPT = os.path.join(REPO, 'models', 'checkpoints', 'digits-foundation')
D, BLOCKS, HEADS, FFN, RANK, ALPHA, TOKENS, PATCH, CLASSES = 128, 2, 4, 256, 8, 16, 17, 49, 10


def load_frozen():
    manifest = json.load(open(os.path.join(CKPT, 'model.json')))['weightsManifest'][0]
    raw = open(os.path.join(CKPT, manifest['paths'][0]), 'rb').read()
    out, offset = {}, 0
    for w in manifest['weights']:
        n = int(np.prod(w['shape']))
        out[w['name']] = torch.from_numpy(np.frombuffer(raw, dtype=np.float32, count=n, offset=offset).reshape(w['shape']).copy())
        offset += 4 * n
    return out


def patchify(x):  # [b, 784] -> [b, 16, 49], row-major patches
    return x.view(-1, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(-1, 16, PATCH)


def layer_norm(x, g, b):
    return F.layer_norm(x, (x.shape[-1],), g, b, 1e-5)


def forward(w, lora, head, x):
    b = x.shape[0]
    h = patchify(x) @ w['embed/patch/kernel'] + w['embed/patch/bias']
    h = torch.cat([w['embed/cls'].expand(b, 1, D), h], 1) + w['embed/position']
    s = ALPHA / RANK
    for i in range(BLOCKS):
        p = f'block{i}'
        a = layer_norm(h, w[f'{p}/ln1/gamma'], w[f'{p}/ln1/beta'])

        def proj(t):
            y = a @ w[f'{p}/{t}/kernel'] + w[f'{p}/{t}/bias']
            if f'{p}/{t}/A' in lora:
                y = y + s * (a @ lora[f'{p}/{t}/A']) @ lora[f'{p}/{t}/B']
            return y.view(b, TOKENS, HEADS, D // HEADS).transpose(1, 2)

        q, k, v = proj('query'), proj('key'), proj('value')
        att = torch.softmax(q @ k.transpose(-1, -2) / (D // HEADS) ** 0.5, -1)
        ctx = (att @ v).transpose(1, 2).reshape(b, TOKENS, D)
        h = h + ctx @ w[f'{p}/output/kernel'] + w[f'{p}/output/bias']
        f1 = layer_norm(h, w[f'{p}/ln2/gamma'], w[f'{p}/ln2/beta']) @ w[f'{p}/ffn1/kernel'] + w[f'{p}/ffn1/bias']
        h = h + (f1 * torch.sigmoid(1.702 * f1)) @ w[f'{p}/ffn2/kernel'] + w[f'{p}/ffn2/bias']
    pooled = layer_norm(h.mean(1), head['ln/gamma'], head['ln/beta'])
    return pooled @ head['dense/kernel'] + head['dense/bias']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--devices', type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    w = load_frozen()
    lora = {}
    for i in range(BLOCKS):
        for t in ('query', 'value'):
            lora[f'block{i}/{t}/A'] = (torch.rand(D, RANK) * 2 - 1) / D ** 0.5
            lora[f'block{i}/{t}/B'] = torch.zeros(RANK, D)
    head = {'ln/gamma': torch.ones(D), 'ln/beta': torch.zeros(D), 'dense/kernel': torch.randn(D, CLASSES) * 0.1, 'dense/bias': torch.zeros(CLASSES)}
    train_x, train_y = torch.rand(8000, 784), torch.randint(0, CLASSES, (8000,))
    test_x, test_y = torch.rand(1000, 784), torch.randint(0, CLASSES, (1000,))
    times = []
    for r in range(args.rounds):
        t0 = time.perf_counter()
        uploads = []
        for dev in range(args.devices):
            mine = {k: v.clone().requires_grad_() for k, v in lora.items()}
            my_head = {k: v.clone().requires_grad_() for k, v in head.items()}
            opt = torch.optim.Adam([*mine.values(), *my_head.values()], lr=1e-3)
            for _ in range(5):
                idx = torch.randint(0, 8000, (16,))
                loss = F.cross_entropy(forward(w, mine, my_head, train_x[idx]), train_y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            uploads.append(({k: v.detach() for k, v in mine.items()}, {k: v.detach() for k, v in my_head.items()}))
        lora = {k: torch.stack([u[0][k] for u in uploads]).mean(0) for k in lora}
        head = {k: torch.stack([u[1][k] for u in uploads]).mean(0) for k in head}
        with torch.no_grad():
            correct = sum(int((forward(w, lora, head, test_x[i:i + 250]).argmax(1) == test_y[i:i + 250]).sum()) for i in range(0, 1000, 250))
        times.append(time.perf_counter() - t0)
    steady = sorted(times[1:])[len(times[1:]) // 2]
    samples = args.devices * 5 * 16
    print(json.dumps({'threads': args.threads, 'torch': torch.__version__, 'rounds': args.rounds, 'roundS': [round(t, 3) for t in times],
                      'medianSteadyRoundS': round(steady, 3), 'trainSamplesPerS': round(samples / steady, 1), 'accuracyOnRandom': correct / 1000}))


if __name__ == '__main__':
    main()
