#!/usr/bin/env python3
"""TEMPORARY WORKAROUND data for the MMoE synthetic baseline (BASELINES.md §1).

kgmtl's tabular view (core/trainer_data.c, view_tabular) treats every label < 0 as "missing" and
drops the row, so with `dataset.source: mmoe` about 44% of the rows of each task (all rows with
y < 0) are silently removed from train, valid AND test (each task keeps a different subset).
Until that is fixed, this script writes the same generator's data (BASELINES.md §1: d = 100,
orthonormal u1/u2 by Gram-Schmidt, w1 = u1, w2 = p*u1 + sqrt(1-p^2)*u2, y = w'x + sum_i sin(i*w'x +
(i-1)^2) + N(0, 0.01^2)) with both labels shifted by +SHIFT so that none is negative, as a
header TSV table with a train/valid/test `split` column, under ROOT/kernlab-income/income.tsv
(the only loader that reads an arbitrary header TSV table: `source: kernlab-income, path: ROOT`).
The rating plugin predicts the training mean plus a learned correction, so a constant shift does
not change the test MSE. Pure Python (no numpy); own RNG, so not bit-identical to gen_mmoe.c.

usage: mmoe_shifted_data.py OUTDIR P SEED [N_TRAIN N_VALID N_TEST]
"""
import math, os, random, sys

SHIFT = 30.0
out, p, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
n = [int(a) for a in sys.argv[4:7]] or [20000, 1000, 1000]
d, m = 100, 10
rng = random.Random(seed * 1000003 + int(round(p * 1000)))
a = [rng.gauss(0, 1) for _ in range(d)]
na = math.sqrt(sum(v * v for v in a)); u1 = [v / na for v in a]
b = [rng.gauss(0, 1) for _ in range(d)]
dot = sum(x * y for x, y in zip(b, u1)); b = [x - dot * y for x, y in zip(b, u1)]
nb = math.sqrt(sum(v * v for v in b)); u2 = [v / nb for v in b]
q = math.sqrt(max(0.0, 1 - p * p))
w1, w2 = u1, [p * x + q * y for x, y in zip(u1, u2)]
f = lambda s: s + sum(math.sin(i * s + (i - 1) ** 2) for i in range(1, m + 1))
os.makedirs(os.path.join(out, "kernlab-income"), exist_ok=True)
with open(os.path.join(out, "kernlab-income", "income.tsv"), "w") as fh:
    fh.write("\t".join([f"x{j}" for j in range(d)] + ["y1", "y2", "split"]) + "\n")
    for split, cnt in zip(("train", "valid", "test"), n):
        for _ in range(cnt):
            x = [rng.gauss(0, 1) for _ in range(d)]
            s1 = sum(u * v for u, v in zip(w1, x)); s2 = sum(u * v for u, v in zip(w2, x))
            y1 = f(s1) + rng.gauss(0, 0.01) + SHIFT; y2 = f(s2) + rng.gauss(0, 0.01) + SHIFT
            assert y1 >= 0 and y2 >= 0
            fh.write("\t".join(f"{v:.5f}" for v in x) + f"\t{y1:.6f}\t{y2:.6f}\t{split}\n")
