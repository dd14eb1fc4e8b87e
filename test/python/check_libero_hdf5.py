#!/usr/bin/env python3
"""Check that a file written by the lab opens in h5py with LIBERO's keys, shapes, dtypes and attributes.

Usage: check_libero_hdf5.py FILE  -> prints a JSON summary; exit 1 with the violations listed on stderr.
The expected layout is LIBERO's scripts/create_dataset.py (see docs/data.md).
"""
import json
import sys

import h5py
import numpy as np

FIELDS = {  # key: (dtype, per-frame shape; None = free)
    "actions": ("float64", (7,)),
    "dones": ("uint8", ()),
    "rewards": ("uint8", ()),
    "states": ("float64", (None,)),
    "robot_states": ("float64", (9,)),
    "obs/agentview_rgb": ("uint8", (None, None, 3)),
    "obs/eye_in_hand_rgb": ("uint8", (None, None, 3)),
    "obs/ee_pos": ("float64", (3,)),
    "obs/ee_ori": ("float64", (3,)),
    "obs/ee_states": ("float64", (6,)),
    "obs/gripper_states": ("float64", (2,)),
    "obs/joint_states": ("float64", (7,)),
}


def main(path):
    errors = []
    summary = {"demos": {}}
    with h5py.File(path, "r") as f:
        data = f["data"]
        problem_info = json.loads(data.attrs["problem_info"])
        env_args = json.loads(data.attrs["env_args"])
        if "language_instruction" not in problem_info:
            errors.append("problem_info has no language_instruction")
        summary["problem_info"] = problem_info
        summary["env_args"] = env_args
        summary["total"] = int(data.attrs["total"])
        summary["num_demos"] = int(data.attrs["num_demos"])
        total = 0
        for name in sorted(data.keys(), key=lambda k: int(k.split("_")[1])):
            demo = data[name]
            n = int(demo.attrs["num_samples"])
            total += n
            info = {"num_samples": n}
            for key, (dtype, frame) in FIELDS.items():
                if key not in demo:
                    errors.append(f"{name}: missing {key}")
                    continue
                ds = demo[key]
                info[key] = {"dtype": str(ds.dtype), "shape": list(ds.shape)}
                if str(ds.dtype) != dtype:
                    errors.append(f"{name}/{key}: dtype {ds.dtype}, expected {dtype}")
                if ds.shape[0] != n or len(ds.shape) != 1 + len(frame) or any(e is not None and e != s for e, s in zip(frame, ds.shape[1:])):
                    errors.append(f"{name}/{key}: shape {ds.shape}, expected ({n}, {frame})")
            dones = demo["dones"][()]
            if dones[-1] != 1:
                errors.append(f"{name}: dones[-1] is {dones[-1]}, LIBERO marks the last frame done")
            info["actions_sum"] = float(np.asarray(demo["actions"][()]).sum())
            info["agentview_sum"] = int(np.asarray(demo["obs/agentview_rgb"][()], dtype=np.int64).sum())
            summary["demos"][name] = info
        if total != summary["total"]:
            errors.append(f"data.attrs.total is {summary['total']}, demos hold {total}")
    print(json.dumps(summary))
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
