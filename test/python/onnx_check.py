#!/usr/bin/env python3
"""Runs onnx.checker (full check, with shape inference) on each ONNX file given; prints JSON results.
Needs Debian python3-onnx (1.12: knows opsets up to 17, the opset the graph emitter writes)."""
import json
import sys

import onnx

out = []
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        out.append({"file": path, "ok": True})
    except Exception as e:  # the checker's own error text is the result
        out.append({"file": path, "ok": False, "error": str(e)[:2000]})
print(json.dumps({"onnx": onnx.__version__, "results": out}))
