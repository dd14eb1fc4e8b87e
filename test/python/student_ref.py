#!/usr/bin/env python3
"""PyTorch re-implementation of the student (electron/engine/model/network.ts), the parity peer.

Usage: student_ref.py CONFIG.json WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors [--threads N] [--bench N]

Reads HF CLIPModel-named weights in torch layout (Linear weights [out, in]; LoRA as PEFT lora_A [r, in],
lora_B [out, r]) and the inputs `pixels` (float32 [B,3,S,S], 0..255) and `tokens` (int64 [B,T]); writes
`image_embeds`, `text_embeds` and `logits` ([B, K, 7, bins]). Written from HF's modeling_clip
(CLIPVisionTransformer / CLIPTextTransformer, argmax EOT pooling, quick_gelu) with torch modules,
independently of the TS code. The safetensors package is not installed: a 30-line numpy reader/writer.
With --bench N it also times N forward passes at batch 1 (text features included) and prints JSON.
"""
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DT = {"F32": np.float32, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "F64": np.float64}
RDT = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(buf[base + a: base + b], dtype=DT[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for k, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        b = arr.tobytes()
        header[k] = {"dtype": RDT[arr.dtype], "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class LoraLinear(nn.Module):
    def __init__(self, i, o, rank, alpha, bias=True):
        super().__init__()
        self.base = nn.Linear(i, o, bias=bias)
        self.rank = rank
        self.scale = alpha / rank if rank else 0.0
        if rank:
            self.lora_A = nn.Linear(i, rank, bias=False)
            self.lora_B = nn.Linear(rank, o, bias=False)

    def forward(self, x):
        y = self.base(x)
        if self.rank:
            y = y + self.scale * self.lora_B(self.lora_A(x))
        return y

    def load(self, w, name):
        self.base.weight.data = torch.from_numpy(w[f"{name}.weight"])
        if self.base.bias is not None:
            self.base.bias.data = torch.from_numpy(w[f"{name}.bias"])
        if self.rank:
            self.lora_A.weight.data = torch.from_numpy(w[f"{name}.lora_A.weight"])
            self.lora_B.weight.data = torch.from_numpy(w[f"{name}.lora_B.weight"])


def ln_load(ln, w, name):
    ln.weight.data = torch.from_numpy(w[f"{name}.weight"])
    ln.bias.data = torch.from_numpy(w[f"{name}.bias"])


class EncoderLayer(nn.Module):
    def __init__(self, width, heads, mlp, lora):
        super().__init__()
        r, a, targets = lora["rank"], lora["alpha"], lora["targets"]
        rk = lambda t: r if t in targets else 0
        self.heads = heads
        self.layer_norm1 = nn.LayerNorm(width, eps=1e-5)
        self.q = LoraLinear(width, width, rk("q_proj"), a)
        self.k = LoraLinear(width, width, rk("k_proj"), a)
        self.v = LoraLinear(width, width, rk("v_proj"), a)
        self.o = LoraLinear(width, width, rk("out_proj"), a)
        self.layer_norm2 = nn.LayerNorm(width, eps=1e-5)
        self.fc1 = LoraLinear(width, width * mlp, rk("fc1"), a)
        self.fc2 = LoraLinear(width * mlp, width, rk("fc2"), a)

    def load(self, w, p):
        ln_load(self.layer_norm1, w, f"{p}.layer_norm1")
        ln_load(self.layer_norm2, w, f"{p}.layer_norm2")
        for m, n in ((self.q, "q_proj"), (self.k, "k_proj"), (self.v, "v_proj"), (self.o, "out_proj")):
            m.load(w, f"{p}.self_attn.{n}")
        self.fc1.load(w, f"{p}.mlp.fc1")
        self.fc2.load(w, f"{p}.mlp.fc2")

    def forward(self, x, mask=None):
        B, T, D = x.shape
        h = self.layer_norm1(x)
        hd = D // self.heads
        q = self.q(h).view(B, T, self.heads, hd).transpose(1, 2) * hd ** -0.5
        k = self.k(h).view(B, T, self.heads, hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.heads, hd).transpose(1, 2)
        s = q @ k.transpose(-1, -2)
        if mask is not None:
            s = s + mask
        a = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(a)
        f = self.fc1(self.layer_norm2(x))
        f = f * torch.sigmoid(1.702 * f)  # quick_gelu
        return x + self.fc2(f)


class Student(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        v, t, lora = c["vision"], c["text"], c["lora"]
        if lora["rank"] == 0:
            lora = {**lora, "targets": []}
        self.patch = nn.Conv2d(3, v["width"], c["image"]["patch"], c["image"]["patch"], bias=False)
        self.vlayers = nn.ModuleList([EncoderLayer(v["width"], v["heads"], v["mlpRatio"], lora) for _ in range(v["layers"])])
        self.pre = nn.LayerNorm(v["width"], eps=1e-5)
        self.post = nn.LayerNorm(v["width"], eps=1e-5)
        self.tlayers = nn.ModuleList([EncoderLayer(t["width"], t["heads"], t["mlpRatio"], lora) for _ in range(t["layers"])])
        self.final = nn.LayerNorm(t["width"], eps=1e-5)
        self.norm = nn.LayerNorm(2 * c["embedDim"], eps=1e-5)
        K, H, bins = c["head"]["chunk"], c["head"]["hidden"], c["head"]["bins"]
        self.streams = [("translation", 3), ("rotation", 3), ("gripper", 1)]
        self.heads = nn.ModuleDict({n: nn.Sequential(nn.Linear(2 * c["embedDim"], H), nn.GELU(), nn.Linear(H, K * d * bins)) for n, d in self.streams})

    def load(self, w):
        P = lambda n: torch.from_numpy(w[n])
        self.patch.weight.data = P("vision_model.embeddings.patch_embedding.weight")
        self.cls = P("vision_model.embeddings.class_embedding")
        self.vpos = P("vision_model.embeddings.position_embedding.weight")
        ln_load(self.pre, w, "vision_model.pre_layrnorm")
        ln_load(self.post, w, "vision_model.post_layernorm")
        for i, l in enumerate(self.vlayers):
            l.load(w, f"vision_model.encoder.layers.{i}")
        self.vproj = P("visual_projection.weight")
        self.tok = P("text_model.embeddings.token_embedding.weight")
        self.tpos = P("text_model.embeddings.position_embedding.weight")
        for i, l in enumerate(self.tlayers):
            l.load(w, f"text_model.encoder.layers.{i}")
        ln_load(self.final, w, "text_model.final_layer_norm")
        self.tproj = P("text_projection.weight")
        ln_load(self.norm, w, "head.norm")
        for n, _ in self.streams:
            self.heads[n][0].weight.data = P(f"head.{n}.fc1.weight")
            self.heads[n][0].bias.data = P(f"head.{n}.fc1.bias")
            self.heads[n][2].weight.data = P(f"head.{n}.fc2.weight")
            self.heads[n][2].bias.data = P(f"head.{n}.fc2.bias")

    def encode_image(self, pixels):
        mean = torch.tensor(self.c["image"]["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(self.c["image"]["std"]).view(1, 3, 1, 1)
        x = (pixels / 255.0 - mean) / std
        x = self.patch(x).flatten(2).transpose(1, 2)
        B = x.shape[0]
        x = torch.cat([self.cls.expand(B, 1, -1), x], dim=1) + self.vpos
        x = self.pre(x)
        for l in self.vlayers:
            x = l(x)
        return self.post(x[:, 0]) @ self.vproj.T

    def encode_text(self, tokens):
        B, T = tokens.shape
        x = self.tok[tokens] + self.tpos[:T]
        mask = torch.full((T, T), float("-inf")).triu(1)
        for l in self.tlayers:
            x = l(x, mask)
        x = self.final(x)
        pooled = x[torch.arange(B), tokens.argmax(dim=-1)]
        return pooled @ self.tproj.T

    def head(self, img, txt):
        f = self.norm(torch.cat([img, txt], dim=-1))
        B = f.shape[0]
        K, bins = self.c["head"]["chunk"], self.c["head"]["bins"]
        return torch.cat([self.heads[n](f).view(B, K, d, bins) for n, d in self.streams], dim=2)


def main():
    args = sys.argv[1:]
    threads = 1
    bench = 0
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    if "--bench" in args:
        i = args.index("--bench")
        bench = int(args[i + 1])
        del args[i:i + 2]
    train_bench = 0
    masked_rows, masked_len = 0, 0
    if "--masked" in args:
        i = args.index("--masked")
        masked_rows, masked_len = int(args[i + 1]), int(args[i + 2])
        del args[i:i + 3]
    if "--serve" in args:
        args.remove("--serve")
    if "--train-bench" in args:
        i = args.index("--train-bench")
        train_bench = int(args[i + 1])
        del args[i:i + 2]
    torch.set_num_threads(threads)
    cfg_path, weights_path, inputs_path, out_path = args
    c = json.load(open(cfg_path))
    model = Student(c).eval()
    model.load(read_safetensors(weights_path))
    inp = read_safetensors(inputs_path)
    pixels = torch.from_numpy(inp["pixels"].astype(np.float32))
    tokens = torch.from_numpy(inp["tokens"].astype(np.int64))
    with torch.no_grad():
        img = model.encode_image(pixels)
        txt = model.encode_text(tokens)
        logits = model.head(img, txt)
    write_safetensors(out_path, {"image_embeds": img.numpy(), "text_embeds": txt.numpy(), "logits": logits.numpy()})
    if bench:
        with torch.no_grad():
            p1, t1 = pixels[:1], tokens[:1]
            for _ in range(2):
                model.head(model.encode_image(p1), model.encode_text(t1))
            t0 = time.perf_counter()
            for _ in range(bench):
                model.head(model.encode_image(p1), model.encode_text(t1))
            full = (time.perf_counter() - t0) / bench * 1000
            txt1 = model.encode_text(t1)
            t0 = time.perf_counter()
            for _ in range(bench):
                model.head(model.encode_image(p1), txt1)
            cached = (time.perf_counter() - t0) / bench * 1000
        print(json.dumps({"infer_ms": full, "infer_cached_text_ms": cached}))
    if "--serve" in sys.argv[1:]:
        serve(model, pixels[:1], tokens[:1])
    if train_bench:
        print(json.dumps({"train_step_ms": time_train(model, pixels, tokens, train_bench, masked_rows=masked_rows, masked_len=masked_len)}))


def serve(model, p1, t1):
    """Interleaved timing (the bench alternates our runs and these on the same cores): after a warm-up,
    each stdin line "full N" / "cached N" runs N batch-1 inference steps — with the text tower, or with
    the text features computed once — and prints their wall times in ms as one JSON line."""
    with torch.no_grad():
        txt1 = model.encode_text(t1)
        steps = {
            "full": lambda: model.head(model.encode_image(p1), model.encode_text(t1)),
            "cached": lambda: model.head(model.encode_image(p1), txt1),
        }
        for f in steps.values():
            for _ in range(2):
                f()
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            parts = line.split()
            if not parts or parts[0] == "quit":
                break
            f, n = steps[parts[0]], int(parts[1])
            ms = []
            for _ in range(n):
                t0 = time.perf_counter()
                f()
                ms.append((time.perf_counter() - t0) * 1000)
            print(json.dumps({parts[0]: ms}), flush=True)


def time_train(model, pixels, tokens, steps, lam=0.5, masked_rows=0, masked_len=0):
    """Dual-path step like the engine's: LoRA + head trainable, weighted CE summed over (k, d), AdamW, clipping.
    The image-only path encodes `masked_rows` distinct instruction rows of `masked_len` tokens and gathers
    them per frame, as the engine does (0: all B rows at full length)."""
    c = model.c
    frozen = c["lora"]["rank"] > 0
    for n, p in model.named_parameters():
        p.requires_grad = (not frozen) or ("lora_" in n) or n.startswith("heads.") or n.startswith("norm.")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    B = pixels.shape[0]
    K, bins = c["head"]["chunk"], c["head"]["bins"]
    g = torch.Generator().manual_seed(0)
    targets = torch.randint(0, bins, (B, K, 7), generator=g)
    w = torch.ones(B, K, 7) / B
    if masked_rows:
        masked = tokens[:masked_rows, :masked_len].clone()
        masked[:, -1] = c["text"]["eotToken"]
        idx = torch.arange(B) % masked_rows
    else:
        masked, idx = tokens.clone(), torch.arange(B)
    model.train()

    def step():
        img = model.encode_image(pixels)
        txt = torch.cat([model.encode_text(tokens), model.encode_text(masked)[idx]], 0)
        logits = model.head(torch.cat([img, img], 0), txt)
        nll = F.cross_entropy(logits.reshape(-1, bins), torch.cat([targets, targets], 0).reshape(-1), reduction="none").view(2 * B, K, 7)
        loss = (nll[:B] * w).sum() + lam * (nll[B:] * w).sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps * 1000


if __name__ == "__main__":
    main()
