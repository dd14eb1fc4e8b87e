import loadMujoco from 'mujoco-js';
import type { MainModule, MjData, MjModel } from 'mujoco-js';
import { LabError } from '../errors.js';

/**
 * The MuJoCo WASM module (mujoco-js, the official build), loaded once per process. Models are compiled
 * from MJCF strings written into the module's in-memory file system.
 */
let modulePromise: Promise<MainModule> | null = null;
let fileCounter = 0;

export function mujoco(): Promise<MainModule> {
  if (!modulePromise) {
    modulePromise = (async () => {
      const mj = await loadMujoco();
      const fs = (mj as unknown as { FS: { mkdir(p: string): void; mount(t: unknown, o: unknown, p: string): void }; MEMFS: unknown });
      fs.FS.mkdir('/mjcf');
      fs.FS.mount(fs.MEMFS, { root: '.' }, '/mjcf');
      return mj;
    })();
  }
  return modulePromise;
}

export interface Compiled {
  mj: MainModule;
  model: MjModel;
}

/** Compile an MJCF string. A compile error becomes LabError('INVALID_INPUT') with MuJoCo's message. */
export async function compileMjcf(xml: string): Promise<Compiled> {
  const mj = await mujoco();
  const file = `/mjcf/model_${process.pid}_${fileCounter++}.xml`;
  const fs = (mj as unknown as { FS: { writeFile(p: string, d: string): void; unlink(p: string): void } }).FS;
  fs.writeFile(file, xml);
  let model: MjModel | undefined;
  try {
    model = mj.MjModel.loadFromXML(file);
  } catch (err) {
    throw new LabError('INVALID_INPUT', `MuJoCo rejected the generated MJCF: ${describe(mj, err)}`, { file }, { cause: err });
  } finally {
    fs.unlink(file);
  }
  if (!model) throw new LabError('INVALID_INPUT', 'MuJoCo returned no model for the generated MJCF', {});
  return { mj, model };
}

function describe(mj: MainModule, err: unknown): string {
  // Embind exceptions arrive as numbers (pointers); getExceptionMessage turns them into text when exported.
  const anyMj = mj as unknown as { getExceptionMessage?: (e: unknown) => string[] };
  if (typeof err === 'number' && anyMj.getExceptionMessage) return anyMj.getExceptionMessage(err).join(': ');
  return err instanceof Error ? err.message : String(err);
}

export function objId(mj: MainModule, model: MjModel, kind: 'body' | 'joint' | 'geom' | 'site' | 'actuator', name: string): number {
  const table = {
    body: mj.mjtObj.mjOBJ_BODY,
    joint: mj.mjtObj.mjOBJ_JOINT,
    geom: mj.mjtObj.mjOBJ_GEOM,
    site: mj.mjtObj.mjOBJ_SITE,
    actuator: mj.mjtObj.mjOBJ_ACTUATOR,
  } as const;
  const id = mj.mj_name2id(model, table[kind].value, name);
  if (id < 0) throw new LabError('NOT_FOUND', `no ${kind} named '${name}' in the model`, { kind, name });
  return id;
}

export type { MainModule, MjData, MjModel };
