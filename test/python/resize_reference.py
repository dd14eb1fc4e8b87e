#!/usr/bin/env python3
"""Antialiased bilinear resize with torch (F.interpolate, align_corners=False, antialias=True), the
PIL-style reference for the lab's separable resampler. stdin: {"h","w","data","oh","ow"} -> JSON list."""
import json
import sys

import torch
import torch.nn.functional as F

inp = json.load(sys.stdin)
x = torch.tensor(inp["data"], dtype=torch.float64).reshape(1, inp["h"], inp["w"], 3).permute(0, 3, 1, 2)
y = F.interpolate(x, size=(inp["oh"], inp["ow"]), mode="bilinear", align_corners=False, antialias=True)
y = y.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).flatten().tolist()
print(json.dumps(y))
