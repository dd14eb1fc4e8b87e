import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { LabError } from '../errors.js';

/**
 * A cheap look at an HDF5 file's superblock before handing it to the HDF5 library. h5wasm answers a
 * foreign or truncated file with "error - name not defined!" and a page of diagnostics; this check names
 * the actual problem (not HDF5 at all, or shorter than the end-of-file address the superblock records).
 * Layout from the HDF5 file format spec, "Superblock" (versions 0–3).
 */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export interface Hdf5Header {
  superblockOffset: number;
  version: number;
  /** End-of-file address recorded in the superblock (relative to the base address). */
  eofAddress: number;
  fileSize: number;
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  return buf.subarray(0, n);
}

function readOffset(buf: Buffer, at: number, size: number): number {
  if (size === 8) return Number(buf.readBigUInt64LE(at));
  if (size === 4) return buf.readUInt32LE(at);
  if (size === 2) return buf.readUInt16LE(at);
  throw new Error(`unsupported offset size ${size}`);
}

export function sniffHdf5(file: string): Hdf5Header {
  let fileSize: number;
  try {
    fileSize = statSync(file).size;
  } catch {
    throw new LabError('NOT_FOUND', `HDF5 file not found: ${file}`, { file });
  }
  const fd = openSync(file, 'r');
  try {
    // The superblock sits at 0, 512, 1024, 2048, ... (after an optional user block).
    for (let at = 0; at < fileSize; at = at === 0 ? 512 : at * 2) {
      const sb = readAt(fd, at, 128);
      if (sb.length < 8 || !SIGNATURE.every((b, i) => sb[i] === b)) continue;
      const version = sb[8];
      let eofAddress: number;
      if (version === 0 || version === 1) {
        const sizeOffsets = sb[13];
        const fixed = version === 0 ? 24 : 28; // v1 adds indexed-storage K + reserved
        // base address, free-space address, end-of-file address, driver address
        eofAddress = readOffset(sb, fixed + 2 * sizeOffsets, sizeOffsets);
      } else if (version === 2 || version === 3) {
        const sizeOffsets = sb[9];
        // base address, superblock extension address, end-of-file address, root object header address
        eofAddress = readOffset(sb, 12 + 2 * sizeOffsets, sizeOffsets);
      } else {
        throw new LabError('CORRUPT_FILE', `unsupported HDF5 superblock version ${version}: ${file}`, { file, version });
      }
      if (fileSize < at + eofAddress) {
        throw new LabError('CORRUPT_FILE', `HDF5 file is truncated: ${file} has ${fileSize} bytes, its superblock records ${at + eofAddress}`, {
          file,
          fileSize,
          expectedSize: at + eofAddress,
        });
      }
      return { superblockOffset: at, version, eofAddress, fileSize };
    }
    throw new LabError('CORRUPT_FILE', `not an HDF5 file (no HDF5 signature): ${file}`, { file, fileSize });
  } finally {
    closeSync(fd);
  }
}
