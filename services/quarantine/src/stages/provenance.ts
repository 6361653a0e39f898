// The provenance stage (stage 4) as the worker sees it. The rule itself is src/provenance: a chain
// of pure steps (loadTrust, verifyBundleSignature, checkStatement, matchManifest) that
// verifyModelSignature runs between its reads of the bundle and the artifact's files, answering
// a ProvenanceVerdict. What is left for the stage is pure and here: which params are a request,
// and the verdict as flat facts for the stage event.
import type { PinnedKey, ProvenanceRequest, ProvenanceVerdict } from '../provenance/index.js';
import type { StageVerdict } from './verdict.js';

/** The worker's params, as service/stages.ts builds them from policy. */
export interface ProvenanceParams {
  bundlePath: string | null;
  keys: PinnedKey[];
  certificates: string[];
  requireSignature: boolean;
}

function isParams(value: unknown): value is ProvenanceParams {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    (p.bundlePath === null || typeof p.bundlePath === 'string') &&
    Array.isArray(p.keys) &&
    Array.isArray(p.certificates) &&
    typeof p.requireSignature === 'boolean'
  );
}

/** The verification request of a stage request, or the verdict refusing it (`config_invalid`). */
export function provenanceRequestOf(input: {
  path?: unknown;
  kind?: unknown;
  params?: unknown;
}): { ok: true; request: ProvenanceRequest } | { ok: false; verdict: StageVerdict } {
  const refuse = (detail: string) => ({
    ok: false as const,
    verdict: { passed: false, reasonCode: 'config_invalid', detail, facts: {} },
  });
  if (typeof input.path !== 'string' || (input.kind !== 'file' && input.kind !== 'directory'))
    return refuse('bad stage request');
  if (!isParams(input.params))
    return refuse('params must be { bundlePath, keys, certificates, requireSignature }');
  const { bundlePath, keys, certificates, requireSignature } = input.params;
  return {
    ok: true,
    request: {
      artifactPath: input.path,
      kind: input.kind,
      bundlePath,
      keys,
      certificates,
      requireSignature,
    },
  };
}

/** The stage verdict: facts level and files, and the signer when there is one. */
export function provenanceStageVerdict(v: ProvenanceVerdict): StageVerdict {
  return {
    passed: v.passed,
    reasonCode: v.reasonCode,
    detail: v.detail,
    facts: {
      level: v.level,
      files: v.files,
      // Flat facts only (runStage keeps string/number/boolean): a null signer is left out.
      ...(v.signer === null ? {} : { signer: v.signer }),
    },
  };
}
