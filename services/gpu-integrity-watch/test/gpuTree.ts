import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Fixture hosts for the hardware probes: a directory laid out like `/` (sys/module, dev,
// dev/dri, usr/bin/nvidia-smi), made by the test that uses it. The nvidia-smi in it is a shell
// script that answers exactly the two queries the watch asks, from files beside it, so a test
// changes the GPU's answers by rewriting those files.

export interface GpuTreeOptions {
  /** The loaded kernel module; null: none. */
  driver?: { module: string; version?: string; srcversion?: string; initstate?: string } | null;
  /** Device nodes relative to dev/ (`dri/card0`, `nvidia0`). */
  devices?: string[];
  /** The ECC CSV nvidia-smi prints; null: no nvidia-smi at all. */
  ecc?: string | null;
  /** What `--query-gpu=driver_version` prints. */
  smiDriverVersion?: string;
}

export interface GpuTree {
  root: string;
  /** The fixture nvidia-smi (under root/usr/bin), or null when the tree has none. */
  nvidiaSmi: string | null;
  setEcc(csv: string): Promise<void>;
  setSmiExit(code: number, stderr?: string): Promise<void>;
  setDriver(driver: NonNullable<GpuTreeOptions['driver']>): Promise<void>;
  addDevice(rel: string): Promise<void>;
  remove(): Promise<void>;
}

const SCRIPT = `#!/bin/sh
# A fixture nvidia-smi: the watch's two queries, answered from the files beside it.
here=$(dirname "$0")
code=$(cat "$here/nvidia-smi.exit" 2>/dev/null || echo 0)
if [ "$code" != 0 ]; then cat "$here/nvidia-smi.stderr" >&2 2>/dev/null; exit "$code"; fi
if [ "$1" = "--query-gpu=ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,ecc.mode.current" ] && [ "$2" = "--format=csv,noheader,nounits" ]; then
  cat "$here/nvidia-smi.ecc.csv"
elif [ "$1" = "--query-gpu=driver_version" ] && [ "$2" = "--format=csv,noheader" ]; then
  cat "$here/nvidia-smi.driver.csv"
else
  echo "unexpected arguments: $*" >&2
  exit 2
fi
`;

export async function makeGpuTree(options: GpuTreeOptions = {}): Promise<GpuTree> {
  const root = await mkdtemp(join(tmpdir(), 'secai-gpu-tree-'));
  const bin = join(root, 'usr/bin');
  await mkdir(join(root, 'sys/module'), { recursive: true });
  await mkdir(join(root, 'dev'), { recursive: true });
  const tree: GpuTree = {
    root,
    nvidiaSmi: null,
    async setEcc(csv) {
      await writeFile(join(bin, 'nvidia-smi.ecc.csv'), csv);
    },
    async setSmiExit(code, stderr = '') {
      await writeFile(join(bin, 'nvidia-smi.exit'), String(code));
      await writeFile(join(bin, 'nvidia-smi.stderr'), stderr);
    },
    async setDriver(d) {
      const dir = join(root, 'sys/module', d.module);
      await mkdir(dir, { recursive: true });
      if (d.version !== undefined) await writeFile(join(dir, 'version'), `${d.version}\n`);
      if (d.srcversion !== undefined) await writeFile(join(dir, 'srcversion'), `${d.srcversion}\n`);
      await writeFile(join(dir, 'initstate'), `${d.initstate ?? 'live'}\n`);
    },
    async addDevice(rel) {
      const path = join(root, 'dev', rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, '');
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
  if (options.driver) await tree.setDriver(options.driver);
  for (const d of options.devices ?? []) await tree.addDevice(d);
  if (options.ecc !== undefined && options.ecc !== null) {
    await mkdir(bin, { recursive: true });
    tree.nvidiaSmi = join(bin, 'nvidia-smi');
    await writeFile(tree.nvidiaSmi, SCRIPT);
    await chmod(tree.nvidiaSmi, 0o755);
    await tree.setEcc(options.ecc);
    await writeFile(
      join(bin, 'nvidia-smi.driver.csv'),
      `${options.smiDriverVersion ?? '550.54.14'}\n`,
    );
  }
  return tree;
}

/** A host with one healthy NVIDIA GPU: driver 550.54.14, card0 + renderD128 + nvidia0/ctl, ECC clean. */
export function healthyNvidia(): Promise<GpuTree> {
  return makeGpuTree({
    driver: { module: 'nvidia', version: '550.54.14', srcversion: 'A1B2C3D4E5F60718293A4B5' },
    devices: ['dri/card0', 'dri/renderD128', 'nvidia0', 'nvidiactl'],
    ecc: '0, 0, Enabled\n',
  });
}
