#!/usr/bin/env python3
"""PyTorch oracle for electron/engine/graph (the peer the gradient and training parity tests check against).

Usage: graph_oracle.py SPEC.json  -> prints a JSON result on stdout.

The spec holds a list of cases:
  {"kind": "graph", ...}  a graph serialized from the GraphBuilder: inputs/params/consts and nodes, each
                          node run with the native torch function for that op (F.layer_norm, F.gelu,
                          F.conv2d, F.embedding, torch.softmax ...); returns torch.autograd gradients of
                          sum(output * cotangent) for every trainable param.
  {"kind": "block", ...}  a pre-norm transformer block with LoRA on q and v, written natively with
                          F.multi_head_attention_forward (LoRA merged into the projection weight).
  {"kind": "train", ...}  N steps of torch.optim.AdamW (+ clip_grad_norm_) on an MLP or a 2-layer transformer
                          classifier; returns the final parameters.
Arrays travel as base64 of little-endian float32 / int64.
"""
import base64
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def dec(a):
    dt = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_}[a["dtype"]]
    arr = np.frombuffer(base64.b64decode(a["data"]), dtype=dt).reshape(a["shape"]).copy()
    return torch.from_numpy(arr)


def enc(t):
    arr = t.detach().cpu().numpy().astype(np.float32)
    return {"dtype": "float32", "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode()}


DTYPES = {"float32": torch.float32, "int64": torch.int64, "int32": torch.int32, "bool": torch.bool}


def run_node(op, xs, a, out_shape):
    if op == "Add": return xs[0] + xs[1]
    if op == "Sub": return xs[0] - xs[1]
    if op == "Mul": return xs[0] * xs[1]
    if op == "Div": return xs[0] / xs[1]
    if op == "Pow": return torch.pow(xs[0], xs[1])
    if op == "Min": return torch.minimum(xs[0], xs[1])
    if op == "Max": return torch.maximum(xs[0], xs[1])
    if op == "Equal": return xs[0] == xs[1]
    if op == "Greater": return xs[0] > xs[1]
    if op == "Neg": return -xs[0]
    if op == "Exp": return torch.exp(xs[0])
    if op == "Log": return torch.log(xs[0])
    if op == "Sqrt": return torch.sqrt(xs[0])
    if op == "Reciprocal": return torch.reciprocal(xs[0])
    if op == "Tanh": return torch.tanh(xs[0])
    if op == "Sigmoid": return torch.sigmoid(xs[0])
    if op == "Relu": return F.relu(xs[0])
    if op == "Erf": return torch.erf(xs[0])
    if op == "Gelu": return F.gelu(xs[0])
    if op == "QuickGelu": return xs[0] * torch.sigmoid(1.702 * xs[0])
    if op == "Cast": return xs[0].to(DTYPES[a["to"]])
    if op == "Where": return torch.where(xs[0], xs[1], xs[2])
    if op == "MatMul":
        x, w = xs
        if a.get("transA"): x = x.transpose(-1, -2)
        if a.get("transB"): w = w.transpose(-1, -2)
        return torch.matmul(x, w)
    if op == "Softmax": return torch.softmax(xs[0], dim=a["axis"])
    if op == "LogSoftmax": return torch.log_softmax(xs[0], dim=a["axis"])
    if op == "LayerNorm": return F.layer_norm(xs[0], (xs[0].shape[-1],), xs[1], xs[2], a["epsilon"])
    if op in ("ReduceSum", "ReduceMean", "ReduceMax"):
        axes = a.get("axes")
        dims = tuple(range(xs[0].dim())) if axes is None else tuple(axes)
        keep = a.get("keepdims", True) is not False
        if op == "ReduceSum": return xs[0].sum(dim=dims, keepdim=keep)
        if op == "ReduceMean": return xs[0].mean(dim=dims, keepdim=keep)
        return torch.amax(xs[0], dim=dims, keepdim=keep)
    if op == "Reshape": return xs[0].reshape(out_shape)
    if op == "ReshapeAs": return xs[0].reshape(xs[1].shape)
    if op == "Expand": return xs[0].expand(out_shape)
    if op == "ExpandAs": return xs[0].expand(xs[1].shape)
    if op == "Unsqueeze":
        y = xs[0]
        for ax in sorted(a["axes"]):
            y = y.unsqueeze(ax)
        return y
    if op == "Transpose": return xs[0].permute(*a["perm"])
    if op == "Concat": return torch.cat(xs, dim=a["axis"])
    if op == "Slice": return xs[0].narrow(a["axis"], a["start"], a["end"] - a["start"])
    if op == "Pad":
        r = xs[0].dim()
        ax = a["axis"] % r
        pad = [0, 0] * (r - 1 - ax) + [a["before"], a["after"]]
        return F.pad(xs[0], pad)
    if op == "Gather": return F.embedding(xs[1], xs[0]) if xs[0].dim() == 2 else xs[0][xs[1]]
    if op == "OneHot": return F.one_hot(xs[0], a["depth"]).float()
    if op == "Conv":
        k = xs[1].shape[-1]
        return F.conv2d(xs[0], xs[1], xs[2] if len(xs) > 2 else None, stride=k)
    raise ValueError(f"oracle: unknown op {op}")


def run_graph(case):
    env = {}
    for name, a in case["inputs"].items():
        env[name] = dec(a)
    for name, a in case["consts"].items():
        env[name] = dec(a)
    trainable = []
    for name, a in case["params"].items():
        t = dec(a)
        if a.get("trainable"):
            t.requires_grad_(True)
            trainable.append(name)
        env[name] = t
    for n in case["nodes"]:
        env[n["output"]] = run_node(n["op"], [env[i] for i in n["inputs"]], n["attrs"], n["shape"])
    out = env[case["output"]]
    cot = dec(case["cotangent"])
    loss = (out * cot).sum()
    grads = torch.autograd.grad(loss, [env[n] for n in trainable], allow_unused=True)
    return {
        "output": enc(out),
        "grads": {n: enc(g if g is not None else torch.zeros_like(env[n])) for n, g in zip(trainable, grads)},
    }


# ---- native modules (not the graph's composition) ------------------------------------------------------

def lin(p, prefix, x):
    return x @ p[prefix + ".weight"] + p[prefix + ".bias"]


def block(p, prefix, x, heads, act, mask, lora_scale):
    """Pre-norm block, x [B, T, W], with torch's own multi-head attention; LoRA merged into W."""
    W = x.shape[-1]
    h = F.layer_norm(x, (W,), p[prefix + ".ln_1.weight"], p[prefix + ".ln_1.bias"], 1e-5)
    wq = p[prefix + ".q_proj.weight"]
    wv = p[prefix + ".v_proj.weight"]
    if prefix + ".lora_q.A" in p:
        wq = wq + lora_scale * (p[prefix + ".lora_q.A"] @ p[prefix + ".lora_q.B"])
        wv = wv + lora_scale * (p[prefix + ".lora_v.A"] @ p[prefix + ".lora_v.B"])
    in_w = torch.cat([wq.t(), p[prefix + ".k_proj.weight"].t(), wv.t()], 0)
    in_b = torch.cat([p[prefix + ".q_proj.bias"], p[prefix + ".k_proj.bias"], p[prefix + ".v_proj.bias"]], 0)
    a, _ = F.multi_head_attention_forward(
        h.transpose(0, 1), h.transpose(0, 1), h.transpose(0, 1), W, heads, in_w, in_b, None, None, False, 0.0,
        p[prefix + ".out_proj.weight"].t(), p[prefix + ".out_proj.bias"], training=False, need_weights=False, attn_mask=mask)
    x = x + a.transpose(0, 1)
    h2 = F.layer_norm(x, (W,), p[prefix + ".ln_2.weight"], p[prefix + ".ln_2.bias"], 1e-5)
    f = lin(p, prefix + ".fc1", h2)
    f = F.gelu(f) if act == "gelu" else f * torch.sigmoid(1.702 * f)
    return x + lin(p, prefix + ".fc2", f)


def weighted_ce(logits, targets, weights):
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none").reshape(targets.shape)
    return (nll * weights).sum() / weights.sum()


def forward_model(case, p, batch):
    m = case["model"]
    if m == "mlp":
        h = F.gelu(lin(p, "fc1", batch["x"]))
        return weighted_ce(lin(p, "fc2", h), batch["y"], batch["w"])
    if m == "transformer":
        x = F.embedding(batch["tokens"], p["tok_emb"]) + p["pos_emb"]
        for i in range(case["layers"]):
            x = block(p, f"layers.{i}", x, case["heads"], "quick_gelu", None, 1.0)
        x = F.layer_norm(x, (x.shape[-1],), p["ln_f.weight"], p["ln_f.bias"], 1e-5).mean(dim=1)
        return weighted_ce(lin(p, "head", x), batch["y"], batch["w"])
    raise ValueError(f"oracle: unknown model {m}")


def run_block(case):
    p = {n: dec(a) for n, a in case["params"].items()}
    trainable = [n for n, a in case["params"].items() if a.get("trainable")]
    for n in trainable:
        p[n].requires_grad_(True)
    x = dec(case["inputs"]["x"]).requires_grad_(True)
    mask = dec(case["mask"]) if case.get("mask") else None
    y = block(p, case["prefix"], x, case["heads"], case["act"], mask, case["lora_scale"])
    loss = (y * dec(case["cotangent"])).sum()
    grads = torch.autograd.grad(loss, [p[n] for n in trainable] + [x])
    out = {n: enc(g) for n, g in zip(trainable, grads)}
    out["x"] = enc(grads[-1])
    return {"output": enc(y), "grads": out}


def run_train(case):
    p = {n: dec(a) for n, a in case["params"].items()}
    names = sorted(p.keys())
    for n in names:
        p[n].requires_grad_(True)
    decay = [p[n] for n in names if p[n].dim() >= 2]
    no_decay = [p[n] for n in names if p[n].dim() < 2]
    c = case["adamw"]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": c["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=case["lrs"][0], betas=(c["beta1"], c["beta2"]), eps=c["eps"])
    losses = []
    for step, lr in enumerate(case["lrs"]):
        for grp in opt.param_groups:
            grp["lr"] = lr
        batch = {k: dec(v) for k, v in case["batches"][step % len(case["batches"])].items()}
        opt.zero_grad()
        loss = forward_model(case, p, batch)
        loss.backward()
        if c.get("clipNorm") is not None:
            torch.nn.utils.clip_grad_norm_([p[n] for n in names], c["clipNorm"])
        opt.step()
        losses.append(float(loss))
    return {"params": {n: enc(p[n]) for n in names}, "losses": losses}


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    results = []
    for case in spec["cases"]:
        kind = case["kind"]
        results.append({"graph": run_graph, "block": run_block, "train": run_train}[kind](case))
    json.dump({"torch": torch.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
