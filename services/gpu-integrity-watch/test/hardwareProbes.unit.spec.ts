import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ECC_QUERY_ARGS,
  GpuHost,
  judgeDevices,
  judgeDriver,
  judgeEcc,
  type DriverFingerprint,
} from '../src/index.js';
import { healthyNvidia, makeGpuTree, type GpuTree } from './gpuTree.js';

// The hardware probes on fixture hosts the tests make (sys/module, dev, dev/dri and a fixture
// nvidia-smi): given a host, when the probe reads it and judges it against a baseline, then the
// status, score and findings the reference's rules (with their defects fixed) give.

let tree: GpuTree | null = null;
afterEach(async () => {
  await tree?.remove();
  tree = null;
});

async function host(t: Promise<GpuTree>, nvidiaSmi?: string): Promise<GpuHost> {
  tree = await t;
  return new GpuHost({ root: tree.root, ...(nvidiaSmi ? { nvidiaSmi } : {}) });
}

const descriptions = (j: { findings: { description: string }[] }) =>
  j.findings.map((f) => f.description);

describe('given a healthy NVIDIA GPU', () => {
  it('reads its driver, device nodes and ECC counters through the root', async () => {
    const h = await host(healthyNvidia());
    const driver = await h.driver();
    expect(driver).toEqual({
      version: '550.54.14',
      module: 'nvidia',
      moduleDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as string,
    });
    expect(await h.deviceNodes()).toEqual(['card0', 'nvidia0', 'nvidiactl', 'renderD128']);
    // No path configured: nvidia-smi is found under the root's usr/bin.
    expect(await h.nvidiaSmiPath()).toBe(join(tree!.root, 'usr/bin/nvidia-smi'));
    const ecc = judgeEcc(await h.nvidiaSmi(ECC_QUERY_ARGS));
    expect(ecc).toMatchObject({ probe: 'ecc_status', status: 'pass', score: 0 });
    expect(descriptions(ecc)).toEqual(['no ECC errors']);
  });

  it('passes the driver and device probes against a baseline captured from it', async () => {
    const h = await host(healthyNvidia());
    const driver = await h.driver();
    const nodes = await h.deviceNodes();
    expect(judgeDriver(await h.driver(), { driver })).toMatchObject({ status: 'pass', score: 0 });
    expect(judgeDevices(nodes, { allowlist: null, baseline: nodes })).toMatchObject({
      status: 'pass',
      score: 0,
    });
  });

  it('passes without a baseline and says to capture one', async () => {
    const h = await host(healthyNvidia());
    const j = judgeDriver(await h.driver(), null);
    expect(j.status).toBe('pass');
    expect(descriptions(j)).toContain('no driver baseline: capture one with the baseline ceremony');
    expect(judgeDevices(await h.deviceNodes(), { allowlist: null, baseline: null }).status).toBe(
      'pass',
    );
  });
});

describe('given ECC errors', () => {
  const eccOf = async (csv: string) => {
    const h = await host(makeGpuTree({ ecc: csv }));
    return judgeEcc(await h.nvidiaSmi(ECC_QUERY_ARGS));
  };

  it('uncorrected errors fail the probe (1.0, critical)', async () => {
    const j = await eccOf('3, 2, Enabled\n');
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(j.findings[0]).toEqual({
      description: 'uncorrected ECC memory errors',
      severity: 'critical',
      detail: 'GPU 0: 3, 2, Enabled',
    });
  });

  it('more than 100 corrected errors drift (0.4); a few are noted and pass', async () => {
    expect(await eccOf('150, 0, Enabled\n')).toMatchObject({ status: 'drift', score: 0.4 });
    const few = await eccOf('5, 0, Enabled\n');
    expect(few).toMatchObject({ status: 'pass', score: 0 });
    expect(descriptions(few)).toEqual(['corrected ECC errors']);
  });

  it('ECC switched off is a drift (0.3), not "not supported" (the reference skipped it)', async () => {
    expect(await eccOf('[N/A], [N/A], Disabled\n')).toMatchObject({ status: 'drift', score: 0.3 });
  });

  it('a GPU without ECC is skipped', async () => {
    const j = await eccOf('[Not Supported], [Not Supported], [N/A]\n');
    expect(j).toMatchObject({ status: 'skip', score: 0 });
  });

  it('takes the worst of several GPUs', async () => {
    const j = await eccOf('0, 0, Enabled\n150, 0, Enabled\n1, 4, Enabled\n');
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(j.findings.map((f) => f.detail)).toEqual([
      'GPU 2: 1, 4, Enabled',
      'GPU 1: 150, 0, Enabled',
      'GPU 0: 0, 0, Enabled',
    ]);
  });

  it('an answer it does not understand is an error (0.3)', async () => {
    expect(await eccOf('lots, of, noise\n')).toMatchObject({ status: 'error', score: 0.3 });
  });

  it('nvidia-smi failing is an error (0.3) with its message', async () => {
    const h = await host(makeGpuTree({ ecc: '0, 0, Enabled\n' }));
    await tree!.setSmiExit(
      9,
      'Unable to determine the device handle for GPU0000:01:00.0: Unknown Error',
    );
    const j = judgeEcc(await h.nvidiaSmi(ECC_QUERY_ARGS));
    expect(j).toMatchObject({ status: 'error', score: 0.3 });
    expect(j.findings[0]!.detail).toContain('Unable to determine the device handle');
  });

  it('"No devices were found" (exit 6) is a host without an NVIDIA GPU: skip', async () => {
    const h = await host(makeGpuTree({ ecc: '' }));
    await tree!.setSmiExit(6, 'No devices were found');
    expect(judgeEcc(await h.nvidiaSmi(ECC_QUERY_ARGS))).toMatchObject({ status: 'skip' });
  });
});

describe('given a changed driver', () => {
  async function baselineAndChange(change: (t: GpuTree) => Promise<void>) {
    const h = await host(healthyNvidia());
    const driver = (await h.driver())!;
    await change(tree!);
    return { j: judgeDriver(await h.driver(), { driver }), driver };
  }

  it('a new version fails the probe (1.0) with the versions', async () => {
    const { j } = await baselineAndChange((t) =>
      t.setDriver({
        module: 'nvidia',
        version: '555.42.02',
        srcversion: 'A1B2C3D4E5F60718293A4B5',
      }),
    );
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(j.findings[0]).toEqual({
      description: 'driver version changed',
      severity: 'critical',
      detail: 'expected 550.54.14, found 555.42.02',
    });
  });

  it('a rebuilt module under the same version string fails on its fingerprint', async () => {
    const { j } = await baselineAndChange((t) =>
      t.setDriver({
        module: 'nvidia',
        version: '550.54.14',
        srcversion: 'FFFFFFFFFFFFFFFFFFFFFFF',
      }),
    );
    expect(j.status).toBe('fail');
    expect(descriptions(j)).toEqual([
      'kernel module fingerprint changed',
      'driver version detected',
      'kernel module: nvidia',
    ]);
  });

  it('the driver gone fails (the reference skipped)', async () => {
    const h = await host(makeGpuTree({ driver: { module: 'amdgpu', version: '6.7.0' } }));
    const driver = (await h.driver())!;
    expect(driver.module).toBe('amdgpu');
    await rm(join(tree!.root, 'sys/module/amdgpu'), { recursive: true });
    const j = judgeDriver(await h.driver(), { driver });
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(descriptions(j)).toEqual(["the baseline's GPU driver is no longer loaded"]);
  });

  it('a driver where the ceremony found none fails', async () => {
    const h = await host(healthyNvidia());
    const j = judgeDriver(await h.driver(), { driver: null });
    expect(j.status).toBe('fail');
    expect(descriptions(j)).toContain('a GPU driver appeared since the baseline (none then)');
  });

  it('an in-tree module without a version file carries the kernel release', async () => {
    const h = await host(makeGpuTree({ driver: { module: 'i915' } }));
    await tree!.addDevice('dri/card0');
    const driver = (await h.driver()) as DriverFingerprint;
    expect(driver).toMatchObject({ module: 'i915', version: 'kernel unknown' });
  });

  it('without sysfs, nvidia-smi names the driver (module nvidia, no fingerprint)', async () => {
    const h = await host(makeGpuTree({ ecc: '0, 0, Enabled\n', smiDriverVersion: '535.183.01' }));
    expect(await h.driver()).toEqual({
      version: '535.183.01',
      module: 'nvidia',
      moduleDigest: null,
    });
  });
});

describe('given an unknown device', () => {
  it('a node neither baseline nor policy allows fails the probe (1.0, one critical each)', async () => {
    const h = await host(healthyNvidia());
    const baseline = await h.deviceNodes();
    await tree!.addDevice('dri/card1');
    await tree!.addDevice('dri/renderD129');
    const j = judgeDevices(await h.deviceNodes(), { allowlist: null, baseline });
    expect(j).toMatchObject({ status: 'fail', score: 1 });
    expect(j.findings.filter((f) => f.severity === 'critical')).toEqual([
      { description: 'unexpected device node', severity: 'critical', detail: 'card1' },
      { description: 'unexpected device node', severity: 'critical', detail: 'renderD129' },
    ]);
  });

  it("policy's allowlist admits it", async () => {
    const h = await host(healthyNvidia());
    const baseline = await h.deviceNodes();
    await tree!.addDevice('dri/card1');
    expect(judgeDevices(await h.deviceNodes(), { allowlist: ['card1'], baseline }).status).toBe(
      'pass',
    );
  });

  it('policy alone (no ceremony yet) refuses what it does not list and requires nothing', async () => {
    const h = await host(healthyNvidia());
    const allowlist = ['card0', 'renderD128', 'nvidia0', 'nvidiactl', 'nvidia-uvm'];
    expect(judgeDevices(await h.deviceNodes(), { allowlist, baseline: null }).status).toBe('pass');
    await tree!.addDevice('dri/card7');
    expect(judgeDevices(await h.deviceNodes(), { allowlist, baseline: null }).status).toBe('fail');
  });

  it('a baseline node that is gone drifts (missing / baseline size)', async () => {
    const h = await host(healthyNvidia());
    const baseline = await h.deviceNodes();
    await rm(join(tree!.root, 'dev/dri/renderD128'));
    const j = judgeDevices(await h.deviceNodes(), { allowlist: null, baseline });
    expect(j).toMatchObject({ status: 'drift', score: 0.25 });
    expect(j.findings.filter((f) => f.severity === 'warning')).toEqual([
      { description: 'expected device node missing', severity: 'warning', detail: 'renderD128' },
    ]);
  });
});

describe('given a host without a GPU', () => {
  it('every hardware probe skips, with the reason', async () => {
    const h = await host(makeGpuTree());
    const ecc = judgeEcc(await h.nvidiaSmi(ECC_QUERY_ARGS));
    expect(ecc).toEqual({
      probe: 'ecc_status',
      status: 'skip',
      score: 0,
      findings: [
        {
          description: 'nvidia-smi not found',
          severity: 'info',
          detail: 'no NVIDIA tools on this host',
        },
      ],
    });
    expect(await h.driver()).toBeNull();
    expect(judgeDriver(null, null)).toMatchObject({
      status: 'skip',
      findings: [{ description: 'no GPU driver loaded' }],
    });
    expect(await h.deviceNodes()).toEqual([]);
    expect(judgeDevices([], { allowlist: ['card0'], baseline: null })).toMatchObject({
      status: 'skip',
      findings: [{ description: 'no GPU device nodes' }],
    });
  });

  it('a configured nvidia-smi that is not there skips and names the path', async () => {
    const h = await host(makeGpuTree(), '/nonexistent/nvidia-smi');
    expect(judgeEcc(await h.nvidiaSmi(ECC_QUERY_ARGS)).findings[0]).toEqual({
      description: 'nvidia-smi not found',
      severity: 'info',
      detail: 'nothing executable at /nonexistent/nvidia-smi',
    });
  });

  it('still fails when a ceremony recorded a driver and devices that are now gone', async () => {
    await host(makeGpuTree());
    const driver: DriverFingerprint = {
      version: '550.54.14',
      module: 'nvidia',
      moduleDigest: null,
    };
    expect(judgeDriver(null, { driver }).status).toBe('fail');
    expect(judgeDevices([], { allowlist: null, baseline: ['card0'] })).toMatchObject({
      status: 'drift',
      score: 1,
    });
  });
});
