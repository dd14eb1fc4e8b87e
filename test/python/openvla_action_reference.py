#!/usr/bin/env python3
"""numpy reference for OpenVLA's action conventions (prismatic/vla/action_tokenizer.py and the BOUNDS_Q99
normalization): reads {"actions": [[7 floats], ...], "probe": [floats]} on stdin, prints q01/q99,
normalized actions, bin ids (digitize - 1) and decoded bin centers as JSON."""
import json
import sys

import numpy as np

inp = json.load(sys.stdin)
a = np.asarray(inp["actions"], dtype=np.float32)
q01 = np.quantile(a, 0.01, axis=0)
q99 = np.quantile(a, 0.99, axis=0)
mask = np.array([True] * 6 + [False])
norm = np.where(mask, np.clip(2 * (a - q01) / (q99 - q01 + 1e-8) - 1, -1, 1), a)
bins = np.linspace(-1, 1, 256)
centers = (bins[:-1] + bins[1:]) / 2.0
probe = np.asarray(inp["probe"], dtype=np.float64)
d = np.digitize(np.clip(probe, -1, 1), bins)
vocab = 32000
tokens = vocab - d
decoded = centers[np.clip(vocab - tokens - 1, 0, centers.shape[0] - 1)]
print(json.dumps({"q01": q01.tolist(), "q99": q99.tolist(), "norm": norm[:, :6].tolist(), "bins": (d - 1).tolist(), "tokens": tokens.tolist(), "decoded": decoded.tolist()}))
