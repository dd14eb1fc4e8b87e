#!/usr/bin/env python3
"""Write a small file in LIBERO's layout with h5py, the way LIBERO's scripts/create_dataset.py does
(attributes on `data`: env_name, problem_info, bddl_file_name, bddl_file_content, env_args,
macros_image_convention, num_demos, total; per demo: num_samples, model_file, init_state). None of the
lab's own attributes are written, so the import path for real LIBERO files is what gets exercised.

Usage: make_libero_fixture.py OUT [--bad=KIND]; KIND: missing_field | wrong_dtype | wrong_shape
"""
import json
import sys

import h5py
import numpy as np


def main(out, bad=None):
    rng = np.random.default_rng(0)
    with h5py.File(out, "w") as f:
        grp = f.create_group("data")
        problem_info = {"problem_name": "libero_kitchen_tabletop_manipulation", "domain_name": "kitchen",
                        "language_instruction": "open the top drawer and put the bowl inside"}
        env_args = {"type": 1, "env_name": "Libero_Kitchen_Tabletop_Manipulation",
                    "problem_name": "libero_kitchen_tabletop_manipulation",
                    "bddl_file": "libero_goal/open_the_top_drawer_and_put_the_bowl_inside.bddl",
                    "env_kwargs": {"camera_heights": 128, "camera_widths": 128}}
        grp.attrs["env_name"] = "Libero_Kitchen_Tabletop_Manipulation"
        grp.attrs["problem_info"] = json.dumps(problem_info)
        grp.attrs["bddl_file_name"] = env_args["bddl_file"]
        grp.attrs["bddl_file_content"] = "(define (problem LIBERO_Kitchen_Tabletop_Manipulation))"
        grp.attrs["env_args"] = json.dumps(env_args)
        grp.attrs["macros_image_convention"] = "opengl"
        total = 0
        lengths = [12, 9]
        for i, n in enumerate(lengths):
            ep = grp.create_group(f"demo_{i}")
            obs = ep.create_group("obs")
            actions = np.concatenate([rng.uniform(-1, 1, (n, 6)), np.where(np.arange(n) < n // 2, -1.0, 1.0)[:, None]], axis=1)
            states = rng.normal(size=(n, 79))
            ee_pos = rng.normal(size=(n, 3))
            ee_ori = rng.normal(size=(n, 3))
            obs.create_dataset("gripper_states", data=rng.normal(size=(n, 2)))
            obs.create_dataset("joint_states", data=rng.normal(size=(n, 7)))
            obs.create_dataset("ee_states", data=np.hstack([ee_pos, ee_ori]))
            obs.create_dataset("ee_pos", data=ee_pos)
            obs.create_dataset("ee_ori", data=ee_ori)
            img = (np.arange(n * 128 * 128 * 3) % 251).astype(np.uint8).reshape(n, 128, 128, 3)
            if bad == "wrong_dtype" and i == 1:
                obs.create_dataset("agentview_rgb", data=img.astype(np.float32))
            else:
                obs.create_dataset("agentview_rgb", data=img)
            obs.create_dataset("eye_in_hand_rgb", data=img[:, ::-1].copy())
            if bad == "wrong_shape" and i == 1:
                actions = actions[:, :6]
            ep.create_dataset("actions", data=actions)
            ep.create_dataset("states", data=states)
            ep.create_dataset("robot_states", data=rng.normal(size=(n, 9)))
            rewards = np.zeros(n, dtype=np.uint8)
            rewards[-1] = 1
            dones = np.zeros(n, dtype=np.uint8)
            dones[-1] = 1
            ep.create_dataset("rewards", data=rewards)
            if not (bad == "missing_field" and i == 1):
                ep.create_dataset("dones", data=dones)
            ep.attrs["num_samples"] = n
            ep.attrs["model_file"] = "<mujoco/>"
            ep.attrs["init_state"] = states[0]
            total += n
        grp.attrs["num_demos"] = len(lengths)
        grp.attrs["total"] = total
    summary = {"lengths": lengths, "instruction": problem_info["language_instruction"]}
    print(json.dumps(summary))


if __name__ == "__main__":
    bad = next((a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("--bad=")), None)
    main(sys.argv[1], bad)
