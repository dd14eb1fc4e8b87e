#!/usr/bin/env python3
"""h5py peer for `npm run bench -- collect`: read every dataset of a LIBERO-layout file, then write the
same arrays and attributes into a new file with the same layout. Prints {"read_s", "write_s", "bytes"}.

Usage: bench_hdf5.py IN OUT [REPEATS]"""
import json
import os
import sys
import time

import h5py


def read_all(path):
    out = {}
    with h5py.File(path, "r") as f:
        data = f["data"]
        attrs = dict(data.attrs)
        for name in data:
            demo = data[name]
            arrays = {}
            demo.visititems(lambda k, obj: arrays.__setitem__(k, obj[()]) if isinstance(obj, h5py.Dataset) else None)
            out[name] = (arrays, dict(demo.attrs))
    return attrs, out


def write_all(path, attrs, demos):
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        for k, v in attrs.items():
            data.attrs[k] = v
        for name, (arrays, demo_attrs) in demos.items():
            g = data.create_group(name)
            for k, v in arrays.items():
                g.create_dataset(k, data=v)
            for k, v in demo_attrs.items():
                g.attrs[k] = v


def main(src, dst, repeats=3):
    read_s, write_s = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        attrs, demos = read_all(src)
        read_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        write_all(dst, attrs, demos)
        os.sync() if hasattr(os, "sync") else None
        write_s.append(time.perf_counter() - t)
    print(json.dumps({"read_s": sorted(read_s)[len(read_s) // 2], "write_s": sorted(write_s)[len(write_s) // 2], "bytes": os.path.getsize(src)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
