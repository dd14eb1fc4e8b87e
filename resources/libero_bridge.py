#!/usr/bin/env python3
"""VLA-AD Lab <-> LIBERO bridge: JSON lines over stdin/stdout (protocol: docs/libero-bridge.md).

Run it inside your LIBERO Python environment; the lab starts it as a child process:
    python resources/libero_bridge.py [--backend libero|kinematic] [--image-size 128]

One request per line on stdin, one answer per line on stdout, in order:
    {"id": 1, "cmd": "list_suites"}                      -> {"id": 1, "result": ["libero_spatial", ...]}
    {"id": 2, "cmd": "list_tasks", "suite": "libero_goal"} -> {"id": 2, "result": [{"index", "name", "instruction", "num_init_states"}]}
    {"id": 3, "cmd": "reset", "suite": ..., "task": 0, "init_index": 0, "seed": 0} -> {"id": 3, "result": {"obs": OBS}}
    {"id": 4, "cmd": "step", "action": [7 floats]}       -> {"id": 4, "result": {"obs": OBS, "reward", "done", "success"}}
    {"id": 5, "cmd": "close"}                            -> {"id": 5, "result": null}, then exit
Any failure: {"id": n, "error": {"type": "...", "message": "..."}}. The first line the bridge writes is
{"event": "ready", "protocol": "vla-ad-libero-bridge", "version": 1, "backend": ...}.
OBS images are json-numpy objects {"__numpy__": base64, "dtype": "|u1", "shape": [H, W, 3]} in LIBERO's
own orientation (not rotated); other fields are lists of floats.

The `kinematic` backend is a tiny deterministic stand-in (a point gripper that must reach and close on a
target), for testing the protocol where LIBERO is not installed. It is not LIBERO.
"""
import argparse
import base64
import json
import math
import sys
import traceback

import numpy as np

PROTOCOL = "vla-ad-libero-bridge"
VERSION = 1
SUITE_ALIASES = {"spatial": "libero_spatial", "object": "libero_object", "goal": "libero_goal", "10": "libero_10"}


def encode_image(img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    return {"__numpy__": base64.b64encode(img.tobytes()).decode("ascii"), "dtype": "|u1", "shape": list(img.shape)}


def quat2axisangle(quat):
    """robosuite's transform_utils.quat2axisangle for an (x, y, z, w) quaternion."""
    quat = np.asarray(quat, dtype=np.float64).copy()
    quat[3] = min(max(quat[3], -1.0), 1.0)
    den = math.sqrt(1.0 - quat[3] * quat[3])
    if math.isclose(den, 0.0):
        return np.zeros(3)
    return (quat[:3] * 2.0 * math.acos(quat[3])) / den


class BridgeError(Exception):
    pass


class LiberoBackend:
    """The real thing: LIBERO's benchmark suites, OffScreenRenderEnv, fixed initial states."""

    def __init__(self, image_size):
        from libero.libero import benchmark, get_libero_path  # noqa: imported here so --help works anywhere
        from libero.libero.envs import OffScreenRenderEnv

        self.benchmark = benchmark
        self.get_libero_path = get_libero_path
        self.OffScreenRenderEnv = OffScreenRenderEnv
        self.image_size = image_size
        self.env = None
        self.env_key = None

    def _suite(self, name):
        name = SUITE_ALIASES.get(name, name)
        table = self.benchmark.get_benchmark_dict()
        if name not in table:
            raise BridgeError(f"unknown suite {name!r}; known: {sorted(table)}")
        return table[name]()

    def list_suites(self):
        return sorted(self.benchmark.get_benchmark_dict().keys())

    def list_tasks(self, suite):
        s = self._suite(suite)
        return [{"index": i, "name": s.get_task(i).name, "instruction": s.get_task(i).language,
                 "num_init_states": int(len(s.get_task_init_states(i)))} for i in range(s.n_tasks)]

    def _obs(self, raw):
        quat = raw["robot0_eef_quat"]
        return {
            "agentview_rgb": encode_image(raw["agentview_image"]),
            "eye_in_hand_rgb": encode_image(raw["robot0_eye_in_hand_image"]),
            "ee_pos": np.asarray(raw["robot0_eef_pos"], dtype=float).tolist(),
            "ee_ori": quat2axisangle(quat).tolist(),
            "gripper_states": np.asarray(raw["robot0_gripper_qpos"], dtype=float).tolist(),
            "joint_states": np.asarray(raw["robot0_joint_pos"], dtype=float).tolist(),
            "robot_states": np.concatenate([raw["robot0_gripper_qpos"], raw["robot0_eef_pos"], quat]).astype(float).tolist(),
            "state": np.asarray(self.env.get_sim_state(), dtype=float).flatten().tolist(),
        }

    def reset(self, suite, task, init_index, seed):
        s = self._suite(suite)
        if not 0 <= task < s.n_tasks:
            raise BridgeError(f"task {task} out of range 0..{s.n_tasks - 1}")
        t = s.get_task(task)
        init_states = s.get_task_init_states(task)
        if not 0 <= init_index < len(init_states):
            raise BridgeError(f"init_index {init_index} out of range 0..{len(init_states) - 1}")
        key = (suite, task)
        if self.env_key != key:
            if self.env is not None:
                self.env.close()
            bddl = f"{self.get_libero_path('bddl_files')}/{t.problem_folder}/{t.bddl_file}"
            self.env = self.OffScreenRenderEnv(bddl_file_name=bddl, camera_heights=self.image_size, camera_widths=self.image_size)
            self.env_key = key
        self.env.seed(seed)
        self.env.reset()
        return self._obs(self.env.set_init_state(init_states[init_index]))

    def step(self, action):
        if self.env is None:
            raise BridgeError("step before reset")
        raw, reward, done, info = self.env.step(action)
        success = bool(done)  # LIBERO's env reports done when the goal predicates hold
        return {"obs": self._obs(raw), "reward": float(reward), "done": bool(done), "success": success}

    def close(self):
        if self.env is not None:
            self.env.close()


class KinematicBackend:
    """Test double (not LIBERO): a point gripper moves by 0.05 m x action per step toward a target; success
    when it is within 0.02 m of the target with the gripper closed. Deterministic in (task, init_index)."""

    SUITES = {"kinematic": ["reach and grasp the red cube", "reach and grasp the blue cube", "reach and grasp the green cube"]}

    def __init__(self, image_size):
        self.image_size = image_size
        self.pos = None

    def list_suites(self):
        return sorted(self.SUITES)

    def list_tasks(self, suite):
        if suite not in self.SUITES:
            raise BridgeError(f"unknown suite {suite!r}; known: {sorted(self.SUITES)}")
        return [{"index": i, "name": f"task_{i}", "instruction": s, "num_init_states": 50} for i, s in enumerate(self.SUITES[suite])]

    def _obs(self):
        n = self.image_size
        img = np.zeros((n, n, 3), dtype=np.uint8)
        px = np.clip(((self.pos[:2] + 0.5) * n).astype(int), 0, n - 1)
        tx = np.clip(((self.target[:2] + 0.5) * n).astype(int), 0, n - 1)
        img[tx[1], tx[0]] = [255, 0, 0]
        img[px[1], px[0]] = [0, 255, 0]
        grip = 0.0 if self.closed else 0.04
        return {
            "agentview_rgb": encode_image(img),
            "eye_in_hand_rgb": encode_image(img[::-1]),
            "ee_pos": self.pos.tolist(), "ee_ori": [0.0, 0.0, 0.0],
            "gripper_states": [grip, -grip], "joint_states": [0.0] * 7,
            "robot_states": [grip, -grip, *self.pos.tolist(), 0.0, 0.0, 0.0, 1.0],
            "state": [*self.pos.tolist(), *self.target.tolist(), float(self.closed)],
        }

    def reset(self, suite, task, init_index, seed):
        tasks = self.list_tasks(suite)
        if not 0 <= task < len(tasks):
            raise BridgeError(f"task {task} out of range 0..{len(tasks) - 1}")
        if not 0 <= init_index < 50:
            raise BridgeError(f"init_index {init_index} out of range 0..49")
        rng = np.random.default_rng(1000 * task + init_index)
        self.pos = np.array([0.0, 0.0, 0.2])
        self.target = np.concatenate([rng.uniform(-0.3, 0.3, 2), [0.02]])
        self.closed = False
        return self._obs()

    def step(self, action):
        if self.pos is None:
            raise BridgeError("step before reset")
        a = np.clip(np.asarray(action, dtype=float), -1, 1)
        self.pos = self.pos + 0.05 * a[:3]
        self.closed = a[6] > 0
        success = bool(self.closed and np.linalg.norm(self.pos - self.target) < 0.02)
        return {"obs": self._obs(), "reward": float(success), "done": success, "success": success}

    def close(self):
        pass


def check_action(action):
    if not isinstance(action, list) or len(action) != 7:
        raise BridgeError(f"action must be a list of 7 numbers, got {action!r:.80}")
    values = [float(v) for v in action]
    if not all(math.isfinite(v) for v in values):
        raise BridgeError(f"action has a non-finite value: {values}")
    return values


def serve(backend, out):
    def send(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    send({"event": "ready", "protocol": PROTOCOL, "version": VERSION, "backend": type(backend).__name__})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req_id = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise BridgeError("request must be a JSON object")
            req_id = req.get("id")
            cmd = req.get("cmd")
            if cmd == "list_suites":
                result = backend.list_suites()
            elif cmd == "list_tasks":
                result = backend.list_tasks(str(req["suite"]))
            elif cmd == "reset":
                result = {"obs": backend.reset(str(req["suite"]), int(req["task"]), int(req.get("init_index", 0)), int(req.get("seed", 0)))}
            elif cmd == "step":
                result = backend.step(check_action(req.get("action")))
            elif cmd == "close":
                backend.close()
                send({"id": req_id, "result": None})
                return
            else:
                raise BridgeError(f"unknown cmd {cmd!r}")
            send({"id": req_id, "result": result})
        except Exception as e:  # every failure goes back as an answer; the bridge keeps serving
            kind = "BridgeError" if isinstance(e, BridgeError) else type(e).__name__
            send({"id": req_id, "error": {"type": kind, "message": str(e), "traceback": traceback.format_exc(limit=5)}})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["libero", "kinematic"], default="libero")
    p.add_argument("--image-size", type=int, default=128)
    args = p.parse_args()
    # LIBERO and MuJoCo print to stdout; keep the protocol channel clean by moving prints to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    backend = LiberoBackend(args.image_size) if args.backend == "libero" else KinematicBackend(args.image_size)
    serve(backend, out)


if __name__ == "__main__":
    main()
