import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEVICE_PREFIXES } from './probes/devices.js';
import { GPU_MODULES, type DriverFingerprint } from './probes/driver.js';
import type { NvidiaSmiOutput } from './probes/ecc.js';

// The host as the hardware probes read it, under an injectable root: `<root>/sys/module`,
// `<root>/dev`, `<root>/dev/dri` and nvidia-smi. On a machine `root` is `/`; tests point it at a
// tree they made (a healthy GPU, a changed driver, an unknown device, no GPU at all).

/** Where nvidia-smi is looked for under the root when no path is configured. */
export const NVIDIA_SMI_CANDIDATES = [
  'usr/bin/nvidia-smi',
  'usr/local/bin/nvidia-smi',
  'bin/nvidia-smi',
];
/** How long one nvidia-smi call may take (it can hang on a wedged GPU). */
export const NVIDIA_SMI_TIMEOUT_MS = 10_000;
const MAX_SYSFS_BYTES = 4096;

export interface GpuHostOptions {
  /** Directory the host's `/sys` and `/dev` are read under (`/` on a machine). */
  root: string;
  /** nvidia-smi to run; null: the candidates under the root. */
  nvidiaSmi?: string | null;
  timeoutMs?: number;
}

async function readSmall(path: string): Promise<string | null> {
  try {
    const text = await readFile(path, 'utf8');
    return text.slice(0, MAX_SYSFS_BYTES).trim();
  } catch {
    return null;
  }
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class GpuHost {
  readonly root: string;
  readonly #nvidiaSmi: string | null;
  readonly #timeoutMs: number;

  constructor(options: GpuHostOptions) {
    this.root = options.root;
    this.#nvidiaSmi = options.nvidiaSmi ?? null;
    this.#timeoutMs = options.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
  }

  /** The nvidia-smi that would run, or null when there is none. */
  async nvidiaSmiPath(): Promise<string | null> {
    if (this.#nvidiaSmi !== null)
      return (await executable(this.#nvidiaSmi)) ? this.#nvidiaSmi : null;
    for (const rel of NVIDIA_SMI_CANDIDATES) {
      const path = join(this.root, rel);
      if (await executable(path)) return path;
    }
    return null;
  }

  /** Runs nvidia-smi with `args` (no shell). */
  async nvidiaSmi(args: readonly string[]): Promise<NvidiaSmiOutput> {
    const path = await this.nvidiaSmiPath();
    if (path === null) return { kind: 'absent', path: this.#nvidiaSmi };
    return new Promise((resolve) => {
      execFile(
        path,
        [...args],
        { timeout: this.#timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          // With no GPU, nvidia-smi says so and exits non-zero: that is an answer, not a failure.
          if (/no devices were found/i.test(`${stdout}\n${stderr}`))
            return resolve({ kind: 'output', text: 'No devices were found' });
          if (err) {
            const why = err.killed ? `timed out after ${this.#timeoutMs} ms` : err.message;
            const said = stderr.trim().split('\n')[0] ?? '';
            return resolve({ kind: 'failed', message: `${why}${said ? `: ${said}` : ''}` });
          }
          resolve({ kind: 'output', text: stdout });
        },
      );
    });
  }

  /**
   * The GPU driver: the first of nvidia, amdgpu, i915, xe present under `sys/module` (its
   * `version`, else the kernel's release for an in-tree module), else nvidia-smi's driver
   * version (module `nvidia`). Null: no GPU driver.
   */
  async driver(): Promise<DriverFingerprint | null> {
    for (const module of GPU_MODULES) {
      const dir = join(this.root, 'sys/module', module);
      const entries = await readdir(dir).catch(() => null);
      if (entries === null) continue;
      const version =
        (await readSmall(join(dir, 'version'))) ||
        `kernel ${(await readSmall(join(this.root, 'proc/sys/kernel/osrelease'))) || 'unknown'}`;
      return { version, module, moduleDigest: await this.#moduleDigest(module) };
    }
    const smi = await this.nvidiaSmi(['--query-gpu=driver_version', '--format=csv,noheader']);
    if (smi.kind !== 'output') return null;
    const version = smi.text.split('\n')[0]?.trim() ?? '';
    if (!version || /no devices were found/i.test(version)) return null;
    return { version: version.slice(0, 128), module: 'nvidia', moduleDigest: null };
  }

  async #moduleDigest(module: string): Promise<string | null> {
    const dir = join(this.root, 'sys/module', module);
    const srcversion = await readSmall(join(dir, 'srcversion'));
    const initstate = await readSmall(join(dir, 'initstate'));
    if (srcversion === null && initstate === null) return null;
    const text = `srcversion=${srcversion ?? ''}\ninitstate=${initstate ?? ''}\n`;
    return `sha256:${createHash('sha256').update(text).digest('hex')}`;
  }

  /** GPU device node names under `dev` and `dev/dri` (card*, render*, nvidia*), sorted. */
  async deviceNodes(): Promise<string[]> {
    const names = new Set<string>();
    for (const rel of ['dev', 'dev/dri']) {
      const entries = await readdir(join(this.root, rel), { withFileTypes: true }).catch(() => []);
      for (const e of entries)
        if (!e.isDirectory() && DEVICE_PREFIXES.some((p) => e.name.startsWith(p)))
          names.add(e.name);
    }
    return [...names].sort();
  }
}
