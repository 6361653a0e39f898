// Stage worker: provenance, run by `runStage` inside the sandbox (no network, so nothing but the
// pinned trust can vouch for a signature). Reads `{ path, kind, params }` on stdin, prints one
// JSON verdict on stdout. The bundle arrives as an extra read-only path.
import { verifyModelSignature, type PinnedKey } from '../provenance/index.js';
import { printVerdict, readRequest } from './io.js';

interface Params {
  bundlePath: string | null;
  keys: PinnedKey[];
  certificates: string[];
  requireSignature: boolean;
}

const input = (await readRequest<unknown>()) as {
  path?: unknown;
  kind?: unknown;
  params?: unknown;
};

function isParams(value: unknown): value is Params {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    (p.bundlePath === null || typeof p.bundlePath === 'string') &&
    Array.isArray(p.keys) &&
    Array.isArray(p.certificates) &&
    typeof p.requireSignature === 'boolean'
  );
}

async function provenance(): Promise<Record<string, unknown>> {
  if (typeof input.path !== 'string' || (input.kind !== 'file' && input.kind !== 'directory'))
    return { passed: false, reasonCode: 'config_invalid', detail: 'bad stage request' };
  if (!isParams(input.params))
    return {
      passed: false,
      reasonCode: 'config_invalid',
      detail: 'params must be { bundlePath, keys, certificates, requireSignature }',
    };
  const { bundlePath, keys, certificates, requireSignature } = input.params;
  const verdict = await verifyModelSignature({
    artifactPath: input.path,
    kind: input.kind,
    bundlePath,
    keys,
    certificates,
    requireSignature,
  });
  // Flat facts only (runStage keeps string/number/boolean): a null signer is left out.
  return {
    passed: verdict.passed,
    reasonCode: verdict.reasonCode,
    detail: verdict.detail,
    level: verdict.level,
    files: verdict.files,
    ...(verdict.signer === null ? {} : { signer: verdict.signer }),
  };
}

printVerdict(await provenance());
