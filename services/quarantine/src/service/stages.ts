import { access } from 'node:fs/promises';
import { join } from 'node:path';
import {
  runStage,
  type SandboxedStage,
  type StageOutcome,
  type StageRequest,
} from '../stages/runStage.js';
import type { SandboxLimits } from '@secai/sandbox';
import type { PolicyBundle } from './policyBundle.js';
import type { Run } from './run.js';

/** Where a run's artifact and its optional signature bundle are. */
export interface ArtifactLocation {
  path: string;
  kind: 'file' | 'directory';
  /** An OMS bundle: given at import for a file, `model.sig` inside a directory. */
  signaturePath: string | null;
}

export interface StageContext {
  run: Run;
  artifact: ArtifactLocation;
  bundle: PolicyBundle;
  behaviorThreads: number;
}

export type StageExecutor = (stage: SandboxedStage, ctx: StageContext) => Promise<StageOutcome>;

const SECOND = 1000;

/** Sandbox limits of a stage, from policy (reference values as defaults). */
export function stageLimits(stage: SandboxedStage, bundle: PolicyBundle): Partial<SandboxLimits> {
  const q = bundle.policy.quarantine;
  const timeoutMs =
    (stage === 'behavioral_test'
      ? (q.behavior_timeout_seconds ?? 600)
      : (q.stage_timeout_seconds ?? 120)) * SECOND;
  return {
    timeoutMs,
    cpuSeconds: Math.ceil(timeoutMs / SECOND),
    memoryMiB: q.stage_memory_mib ?? 2048,
  };
}

/**
 * Each stage's parameters: what policy says about it, as plain JSON for the worker. The readers'
 * bounds (`quarantine.format_gate`) go to every stage that reads a model's structure.
 */
export function stageRequest(stage: SandboxedStage, ctx: StageContext): StageRequest {
  const { run, artifact, bundle } = ctx;
  const base = { path: artifact.path, kind: artifact.kind };
  const q = bundle.policy.quarantine;
  switch (stage) {
    case 'hash_pin':
      return {
        ...base,
        params: {
          lockText: bundle.lockText,
          filename: run.acquired.name,
          sha256: run.acquired.digest.slice('sha256:'.length),
          sourceUrl: run.acquired.source.url ?? null,
        },
      };
    case 'provenance':
      return {
        ...base,
        params: {
          bundlePath: artifact.signaturePath,
          keys: (q.provenance_keys ?? []).map((k) => ({
            id: k.id,
            publicKeyPem: k.public_key_pem,
          })),
          certificates: q.provenance_ca_certificates ?? [],
          requireSignature: bundle.policy.models.require_signature,
        },
        ...(artifact.signaturePath !== null && artifact.kind === 'file'
          ? { extraReadOnlyPaths: [artifact.signaturePath] }
          : {}),
      };
    case 'format_gate':
      return { ...base, params: { formatLimits: bundle.formatLimits } };
    case 'static_scan':
    case 'diffusion_scan':
      return {
        ...base,
        params: { thresholds: bundle.staticScan, formatLimits: bundle.formatLimits },
      };
    case 'behavioral_test':
      return {
        ...base,
        params: {
          maxScore: q.behavior_max_score,
          maxCritical: q.behavior_max_critical,
          ...(q.behavior_max_degenerate_fraction !== undefined
            ? { maxDegenerateFraction: q.behavior_max_degenerate_fraction }
            : {}),
          ...(q.behavior_max_identical_fraction !== undefined
            ? { maxIdenticalFraction: q.behavior_max_identical_fraction }
            : {}),
          threads: ctx.behaviorThreads,
          formatLimits: bundle.formatLimits,
        },
      };
  }
}

/** Runs every stage in its sandboxed worker. */
export const sandboxedStages: StageExecutor = (stage, ctx) =>
  runStage(stage, stageRequest(stage, ctx), stageLimits(stage, ctx.bundle));

/** The signature bundle of an artifact, if there is one. */
export async function signatureOf(
  quarantineDir: string,
  artifactId: string,
  path: string,
  kind: 'file' | 'directory',
): Promise<string | null> {
  const candidate =
    kind === 'directory' ? join(path, 'model.sig') : signatureStorePath(quarantineDir, artifactId);
  return access(candidate).then(
    () => candidate,
    () => null,
  );
}

/** Where intake keeps the signature bundle given with a file import. */
export function signatureStorePath(quarantineDir: string, artifactId: string): string {
  return join(quarantineDir, 'signatures', `${artifactId}.sigstore.json`);
}
