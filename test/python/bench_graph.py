#!/usr/bin/env python3
"""PyTorch 1.13 eager peer for `npm run bench -- graph` (electron/cli/bench/graph.ts).

Usage: bench_graph.py SPEC_JSON  -> prints JSON {torch, threads, results: [{name, train_ms, infer_ms}], peak_rss_mb}
Same shapes and thread count as ours: (a) a 2-layer pre-norm transformer classifier over float inputs
[B, T, W]; (b) one ViT-B/16 block [8, 197, 768] with an MSE loss. Train step = zero_grad + forward +
backward + clip_grad_norm_ + AdamW.step; inference = forward under no_grad.
"""
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from graph_oracle import block  # noqa: E402  (the same native block the parity tests use)


def make_params(W, mlp, prefixes, extra):
    g = torch.Generator().manual_seed(0)
    p = {}
    for pre in prefixes:
        for name, shape in [("ln_1.weight", [W]), ("ln_1.bias", [W]), ("ln_2.weight", [W]), ("ln_2.bias", [W]),
                            ("q_proj.weight", [W, W]), ("q_proj.bias", [W]), ("k_proj.weight", [W, W]), ("k_proj.bias", [W]),
                            ("v_proj.weight", [W, W]), ("v_proj.bias", [W]), ("out_proj.weight", [W, W]), ("out_proj.bias", [W]),
                            ("fc1.weight", [W, mlp]), ("fc1.bias", [mlp]), ("fc2.weight", [mlp, W]), ("fc2.bias", [W])]:
            p[f"{pre}.{name}"] = (torch.rand(shape, generator=g) - 0.5) * 0.1
    for name, shape in extra.items():
        p[name] = (torch.rand(shape, generator=g) - 0.5) * 0.1
    for v in p.values():
        v.requires_grad_(True)
    return p


def run_case(c, threads):
    B, T, W, heads, mlp = c["batch"], c["seq"], c["width"], c["heads"], c["mlp"]
    if c["kind"] == "transformer":
        layers, C = c["layers"], c["classes"]
        p = make_params(W, mlp, [f"layers.{i}" for i in range(layers)], {"ln_f.weight": [W], "ln_f.bias": [W], "head.weight": [W, C], "head.bias": [C]})
        x = torch.randn(B, T, W)
        y = torch.randint(0, C, (B,))

        def fwd():
            h = x
            for i in range(layers):
                h = block(p, f"layers.{i}", h, heads, "quick_gelu", None, 1.0)
            h = F.layer_norm(h, (W,), p["ln_f.weight"], p["ln_f.bias"], 1e-5).mean(dim=1)
            return h @ p["head.weight"] + p["head.bias"]

        def loss_fn():
            return F.cross_entropy(fwd(), y)
    else:
        p = make_params(W, mlp, ["blk"], {})
        x = torch.randn(B, T, W)
        target = torch.randn(B, T, W)

        def fwd():
            return block(p, "blk", x, heads, "quick_gelu", None, 1.0)

        def loss_fn():
            return F.mse_loss(fwd(), target)

    params = list(p.values())
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    def infer_step():
        with torch.no_grad():
            fwd()

    out = {"name": c["name"]}
    for key, f in [("train_ms", train_step), ("infer_ms", infer_step)]:
        for _ in range(c["warmup"]):
            f()
        samples = []
        for _ in range(c["iters"]):
            t0 = time.perf_counter()
            f()
            samples.append((time.perf_counter() - t0) * 1000)
        out[key] = samples
    return out


def main():
    spec = json.loads(sys.argv[1])
    threads = spec["threads"]
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)
    results = [run_case(c, threads) for c in spec["cases"]]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results, "peak_rss_mb": peak}))


if __name__ == "__main__":
    main()
