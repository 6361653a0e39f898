import { performance } from 'node:perf_hooks';
import type { ProbeResultData } from '@secai/contracts';
import type { RegistryManifestDocument } from '@secai/projections';
import { tensorBaseline, type GpuBaseline } from './baseline.js';
import type { GpuHost } from './host.js';
import type { InferenceClient } from './inferenceClient.js';
import type { ModelFileHasher } from './modelFiles.js';
import type { GpuWatchSettings } from './policy.js';
import { judgeDevices } from './probes/devices.js';
import { judgeDriver, type DriverFingerprint } from './probes/driver.js';
import { ECC_QUERY_ARGS, judgeEcc } from './probes/ecc.js';
import { judgeReferenceDrift, judgeSentinel } from './probes/sentinel.js';
import { judgeTensorHash } from './probes/tensorHash.js';
import type { ProbeJudgement } from './probes/types.js';
import { REFERENCE_ITERATIONS, runSentinels, sentinelTargets } from './sentinels.js';

// One cycle's probes: each enabled probe observes (the store, inference, the host under its
// root) and is judged against the baseline, timed, in probe order. Recording is the caller's.

export interface ProbeDeps {
  gpu: GpuHost;
  models: ModelFileHasher;
  inference: Pick<InferenceClient, 'sentinel'>;
}

export interface ProbeRun {
  probes: ProbeResultData[];
  /** What the driver and device probes saw (undefined when they are off). */
  driver?: DriverFingerprint | null;
  devices?: string[];
}

export async function runProbes(
  deps: ProbeDeps,
  settings: GpuWatchSettings,
  baseline: GpuBaseline,
  manifest: RegistryManifestDocument,
): Promise<ProbeRun> {
  const on = (p: ProbeResultData['probe']) => !settings.disabled.includes(p);
  const run: ProbeRun = { probes: [] };
  const timed = async (fn: () => Promise<ProbeJudgement>): Promise<void> => {
    const t0 = performance.now();
    const j = await fn();
    run.probes.push({ ...j, durationMs: Math.round(performance.now() - t0) });
  };

  if (on('tensor_hash'))
    await timed(async () =>
      judgeTensorHash(await deps.models.observeAll(manifest), tensorBaseline(baseline)),
    );
  // The two model-answer probes share the runs: the sentinel's is the first of reference_drift's.
  if (on('sentinel_inference') || on('reference_drift')) {
    const targets = sentinelTargets(baseline, manifest).map((t) => t.target);
    const t0 = performance.now();
    const first = await runSentinels(deps.inference, targets, 1);
    const firstMs = Math.round(performance.now() - t0);
    if (on('sentinel_inference')) run.probes.push({ ...judgeSentinel(first), durationMs: firstMs });
    if (on('reference_drift')) {
      const t1 = performance.now();
      const all = await runSentinels(deps.inference, first, REFERENCE_ITERATIONS - 1);
      const extraMs = Math.round(performance.now() - t1);
      run.probes.push({
        ...judgeReferenceDrift(all),
        durationMs: extraMs + (on('sentinel_inference') ? 0 : firstMs),
      });
    }
  }
  if (on('ecc_status')) await timed(async () => judgeEcc(await deps.gpu.nvidiaSmi(ECC_QUERY_ARGS)));
  if (on('driver_fingerprint'))
    await timed(async () => {
      run.driver = await deps.gpu.driver();
      return judgeDriver(run.driver, baseline.host ? { driver: baseline.host.driver } : null);
    });
  if (on('device_allowlist'))
    await timed(async () => {
      run.devices = await deps.gpu.deviceNodes();
      return judgeDevices(run.devices, {
        allowlist: settings.deviceAllowlist,
        baseline: baseline.host?.devices ?? null,
      });
    });
  return run;
}
