import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runSandboxed, type SandboxLimits } from '@secai/sandbox';

/**
 * Stages that parse untrusted bytes run their worker script in the sandbox. The source policy
 * is not one of them: it reads no bytes and asks the policy engine, which the sandbox (no
 * network) could not reach.
 */
export const STAGE_WORKERS = {
  format_gate: 'formatGate.js',
  hash_pin: 'hashPin.js',
  provenance: 'provenance.js',
  static_scan: 'staticScan.js',
  behavioral_test: 'behavioralTest.js',
  diffusion_scan: 'diffusionScan.js',
} as const;
export type SandboxedStage = keyof typeof STAGE_WORKERS;

/** What a stage worker reads on stdin: the artifact, and the stage's own parameters. */
export interface StageRequest {
  path: string;
  kind: 'file' | 'directory';
  /** Stage parameters (thresholds from policy, pinned keys, ...): plain JSON. */
  params?: Record<string, unknown>;
  /** Further files the worker must read (a signature bundle), bind-mounted read-only. */
  extraReadOnlyPaths?: readonly string[];
}

export interface StageOutcome {
  passed: boolean;
  reasonCode: string;
  detail: string;
  /** Bounded facts for the stage event (`result`). */
  result: Record<string, string | number | boolean>;
  isolation: Awaited<ReturnType<typeof runSandboxed>>['isolation'];
  durationMs: number;
}

/** The compiled worker; under vitest (running from src/) the one `npm run build` put in dist/. */
function workerPath(file: string): string {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const path = fileURLToPath(
    new URL(fromSource ? `../../dist/workers/${file}` : `../workers/${file}`, import.meta.url),
  );
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first`);
  return path;
}

/**
 * Runs one stage's worker on a snapshotted artifact inside the sandbox. A worker that crashes,
 * hangs, runs out of memory or prints garbage is an ordinary failed stage with that reason, never
 * a failure of the service.
 */
export async function runStage(
  stage: SandboxedStage,
  request: StageRequest,
  limits: Partial<SandboxLimits> = {},
): Promise<StageOutcome> {
  const { extraReadOnlyPaths = [], params = {}, path, kind } = request;
  const readOnlyPaths = [path, ...extraReadOnlyPaths];
  const outcome = await runSandboxed(
    {
      script: workerPath(STAGE_WORKERS[stage]),
      // The worker sees each file where the sandbox mounted it, parameters naming one included.
      input: (visible: (p: string) => string) => ({
        path: visible(path),
        kind,
        params: Object.fromEntries(
          Object.entries(params).map(([k, v]) => [
            k,
            typeof v === 'string' && readOnlyPaths.includes(v) ? visible(v) : v,
          ]),
        ),
      }),
      readOnlyPaths,
    },
    limits,
  );
  const base = { isolation: outcome.isolation, durationMs: outcome.durationMs };
  if (!outcome.ok) {
    return {
      ...base,
      passed: false,
      reasonCode: `worker_${outcome.failure}`,
      detail: outcome.detail.slice(0, 512),
      result: {},
    };
  }
  const verdict = outcome.result as {
    passed?: unknown;
    reasonCode?: unknown;
    detail?: unknown;
  } & Record<string, unknown>;
  if (typeof verdict?.passed !== 'boolean' || typeof verdict.reasonCode !== 'string') {
    return {
      ...base,
      passed: false,
      reasonCode: 'worker_bad_output',
      detail: 'the worker answered without a verdict',
      result: {},
    };
  }
  const result: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(verdict)) {
    if (key === 'passed' || key === 'reasonCode' || key === 'detail') continue;
    if (
      ['string', 'number', 'boolean'].includes(typeof value) &&
      /^[a-z][a-z0-9_]{0,63}$/.test(key)
    ) {
      result[key] = typeof value === 'string' ? value.slice(0, 256) : (value as number | boolean);
    }
  }
  return {
    ...base,
    passed: verdict.passed,
    reasonCode: verdict.reasonCode.slice(0, 64),
    detail: typeof verdict.detail === 'string' ? verdict.detail.slice(0, 512) : '',
    result,
  };
}
