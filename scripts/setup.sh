#!/usr/bin/env bash
# One-time setup of a checkout on Debian/Ubuntu:
#  1. system packages (skipped with VLA_AD_SKIP_APT=1, or when neither root nor sudo is available):
#     chromium (web-mode E2E), ffmpeg (videos), python3-torch + libopenblas0-openmp (gradient oracle and
#     speed peer; without the OpenMP BLAS Debian's torch runs reference BLAS), python3-h5py (HDF5 checks),
#     python3-onnx (onnx.checker on emitted graphs), make + g++ (native addons);
#  2. npm dependencies: downloads this machine cannot reach are skipped, never fatal (Electron's binary,
#     ONNX Runtime's CUDA provider, ffmpeg-static's binary);
#     (npm ci's postinstall also builds the native addons: node-gyp against Node's headers).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${VLA_AD_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="skip"; fi
  fi
  if [ "$SUDO" != "skip" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
      chromium ffmpeg python3 python3-torch libopenblas0-openmp python3-h5py python3-numpy python3-onnx \
      make g++ ca-certificates >/dev/null
  else
    echo "setup: not root and no sudo: install chromium ffmpeg python3-torch libopenblas0-openmp python3-h5py yourself" >&2
  fi
fi

npm ci
# The rasterizer must exist for the simulator: fail setup here, loudly, if the postinstall could not build it.
if [ -f native/binding.gyp ] && [ ! -f native/build/Release/rasterizer.node ]; then
  npx node-gyp rebuild -C native
fi
