import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { DoctorReport } from '../api/schemas.js';
import { locateFfmpeg } from './video/ffmpeg.js';
import { CUDA_INSTALL_HINT, type CudaPiece, type CudaReadiness, cudaReadiness } from './graph/cuda-provider.js';

type Check = DoctorReport['checks'][number];
const require = createRequire(import.meta.url);

/** The Electron binary: the npm package (≥ 42) has no install script; the binary comes on first use. */
function checkElectron(): Check {
  const hint = 'npm run install:electron (downloads it), or use web mode: npm run serve';
  try {
    const pkgDir = path.dirname(require.resolve('electron/package.json'));
    const version = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version as string;
    const pathTxt = path.join(pkgDir, 'path.txt');
    const bin = existsSync(pathTxt) ? path.join(pkgDir, 'dist', readFileSync(pathTxt, 'utf8').trim()) : null;
    if (bin && existsSync(bin)) return { name: 'Electron binary', ok: true, detail: `electron ${version} at ${bin}` };
    return { name: 'Electron binary', ok: false, detail: `electron ${version} package installed, binary not downloaded`, hint };
  } catch {
    return { name: 'Electron binary', ok: false, detail: 'electron package not installed', hint };
  }
}

const SHORT: Record<CudaPiece['id'], string> = { binding: 'binding backend', provider: 'provider library', driver: 'driver (libcuda)', cudart: 'runtime 12 (cudart)', cublas: 'cuBLAS 12', cudnn: 'cuDNN 9' };

/** Doctor's lines for CUDA: the overall readiness, then each piece (what it is, where it was found or looked for, how to get it). */
export function cudaChecks(r: CudaReadiness): Check[] {
  return [
    {
      name: 'ONNX Runtime CUDA',
      ok: r.ready,
      detail: r.ready ? `every piece present (provider at ${r.providerLibrary}); ep auto uses CUDA where a session creates` : `not ready, ep auto runs on the CPU: missing ${r.missing.map((m) => m.name).join(', ')}`,
      hint: r.ready ? undefined : CUDA_INSTALL_HINT,
    },
    ...r.pieces.map((p): Check => ({ name: `  CUDA ${SHORT[p.id]}`, ok: p.ok, detail: p.detail, hint: p.ok ? undefined : p.install })),
  ];
}

async function checkOrt(): Promise<Check[]> {
  try {
    const ort = await import('onnxruntime-node');
    const backends = ort.listSupportedBackends().map((b) => b.name);
    return [
      { name: 'ONNX Runtime CPU', ok: backends.includes('cpu'), detail: `onnxruntime-node ${ort.env.versions?.node ?? ''}; providers compiled into the binding: ${backends.join(', ')}; ep cpu is always ready` },
      ...cudaChecks(cudaReadiness()),
    ];
  } catch (err) {
    return [{ name: 'ONNX Runtime CPU', ok: false, detail: `onnxruntime-node failed to load: ${(err as Error).message}`, hint: 'npm ci' }];
  }
}

function checkFfmpeg(): Check {
  const loc = locateFfmpeg();
  return loc
    ? { name: 'ffmpeg', ok: true, detail: `${loc.version} (${loc.source}: ${loc.path})` }
    : { name: 'ffmpeg', ok: false, detail: 'no ffmpeg found (FFMPEG_BIN, ffmpeg-static, PATH)', hint: 'apt-get install ffmpeg, or set FFMPEG_BIN' };
}

function checkChromium(): Check {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
  const found = candidates.find((c) => existsSync(c));
  if (!found) return { name: 'Chromium (web-mode E2E)', ok: false, detail: 'not found', hint: 'apt-get install chromium, or set CHROMIUM_PATH' };
  const run = spawnSync(found, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return { name: 'Chromium (web-mode E2E)', ok: run.status === 0, detail: `${found}: ${(run.stdout || run.stderr || '').trim()}` };
}

function checkPython(): Check[] {
  const python = process.env.VLA_AD_PYTHON ?? '/usr/bin/python3';
  const script = 'import json,sys\nout={"python":sys.version.split()[0]}\n' +
    'for m in ("torch","h5py","numpy"):\n  try:\n    mod=__import__(m); out[m]=mod.__version__\n  except Exception as e:\n    out[m]=None\nprint(json.dumps(out))';
  const run = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) return [{ name: 'python3', ok: false, detail: `${python} did not run`, hint: 'apt-get install python3' }];
  const info = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, string | null>;
  return [
    { name: 'python3', ok: true, detail: `${python} ${info.python}` },
    {
      name: 'PyTorch (reference oracle)',
      ok: Boolean(info.torch),
      detail: info.torch ? `torch ${info.torch}` : 'not importable',
      hint: info.torch ? undefined : 'apt-get install python3-torch libopenblas0-openmp',
    },
    { name: 'h5py', ok: Boolean(info.h5py), detail: info.h5py ? `h5py ${info.h5py}` : 'not importable', hint: info.h5py ? undefined : 'apt-get install python3-h5py' },
  ];
}

function checkVlm(vlm?: DoctorContext['vlm']): Check {
  const base = vlm?.baseUrl ?? process.env.VLA_AD_VLM_BASE_URL;
  if (!base) {
    return {
      name: 'VLM endpoint',
      ok: false,
      detail: 'none configured: the offline annotator is used',
      hint: 'set it in Settings, or VLA_AD_VLM_BASE_URL, VLA_AD_VLM_MODEL and VLA_AD_VLM_API_KEY (OpenAI-compatible)',
    };
  }
  const model = vlm?.model ?? process.env.VLA_AD_VLM_MODEL ?? '(unset)';
  const keySet = vlm?.apiKeySet ?? Boolean(process.env.VLA_AD_VLM_API_KEY);
  return { name: 'VLM endpoint', ok: true, detail: `${base} model ${model}; API key ${keySet ? 'set' : 'not set'}` };
}

function checkLiberoBridge(): Check {
  const python = process.env.VLA_AD_LIBERO_PYTHON;
  if (!python) {
    return { name: 'LIBERO bridge', ok: false, detail: 'VLA_AD_LIBERO_PYTHON not set: the built-in suites are used', hint: 'point VLA_AD_LIBERO_PYTHON at the python of a LIBERO environment' };
  }
  const run = spawnSync(python, ['-c', 'import libero, robosuite; print(robosuite.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  return run.status === 0
    ? { name: 'LIBERO bridge', ok: true, detail: `${python}: libero importable, robosuite ${run.stdout.trim()}` }
    : { name: 'LIBERO bridge', ok: false, detail: `${python} cannot import libero: ${(run.stderr || '').trim().split('\n').pop()}` };
}

/** What this machine has, for `vla-ad doctor` and the doctor panel. Never throws: a failing probe is a failed check. */
export interface DoctorContext {
  vlm?: { baseUrl: string | null; model: string | null; apiKeySet: boolean };
}

export async function runDoctor(ctx: DoctorContext = {}): Promise<DoctorReport> {
  const checks: Check[] = [checkElectron(), ...(await checkOrt()), checkFfmpeg(), checkChromium(), ...checkPython(), checkVlm(ctx.vlm), checkLiberoBridge()];
  return { checks, at: new Date().toISOString() };
}
