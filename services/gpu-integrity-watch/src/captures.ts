import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import { AUTO_OPERATOR, type BaselineCaptured } from './baseline.js';
import { modelsInStore } from './modelFiles.js';
import type { ProbeDeps } from './probeRun.js';
import type { DriverFingerprint } from './probes/driver.js';
import { SENTINEL_PROMPT, referenceOf } from './sentinels.js';

// What a baseline capture records, observed: a model's first load (its file and its sentinel),
// and the operator ceremony (every file, the loaded models' sentinels, the driver, the devices).
// A file that is not the registry's is never baselined: the tensor hash reports it instead.

/** The event's bounds. */
const MAX_TENSOR_HASHES = 1024;
const MAX_SENTINELS = 64;

const clip = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

export type FirstLoadCapture = { ok: true; data: BaselineCaptured } | { ok: false; why: string };

export async function firstLoadCapture(
  deps: Pick<ProbeDeps, 'models' | 'inference'>,
  host: string,
  m: ManifestEntry,
  maxTokens: number,
): Promise<FirstLoadCapture> {
  const file = await deps.models.observe(m);
  if (file.actual.kind !== 'hashed' || file.actual.digest !== m.digest)
    return { ok: false, why: 'the file does not match its digest' };
  const reply = await deps.inference.sentinel(m.digest, SENTINEL_PROMPT, maxTokens);
  if (reply.kind !== 'answer') return { ok: false, why: `no sentinel answer (${reply.kind})` };
  return {
    ok: true,
    data: {
      host,
      operator: AUTO_OPERATOR,
      reason: clip(`first load of ${m.digest} (${m.name})`, 512),
      tensorHashes: [{ path: m.storePath, digest: file.actual.digest }],
      sentinels: [referenceOf(reply.answer)],
      driver: null,
      devices: [],
    },
  };
}

export interface CeremonyCapture {
  data: BaselineCaptured;
  /** Models not loaded in inference: their earlier sentinel (if any) stays. */
  notLoaded: string[];
  /** Models left out of this baseline, and why. */
  skipped: { model: string; reason: string }[];
  driver: DriverFingerprint | null;
  devices: string[];
}

export async function ceremonyCapture(
  deps: ProbeDeps,
  host: string,
  input: { operator: string; reason: string },
  manifest: RegistryManifestDocument,
  maxTokens: number,
): Promise<CeremonyCapture> {
  const tensorHashes: BaselineCaptured['tensorHashes'] = [];
  const sentinels: BaselineCaptured['sentinels'] = [];
  const notLoaded: string[] = [];
  const skipped: { model: string; reason: string }[] = [];
  for (const m of modelsInStore(manifest)) {
    const file = await deps.models.observe(m);
    if (file.actual.kind !== 'hashed' || file.actual.digest !== m.digest) {
      skipped.push({
        model: m.digest,
        reason:
          file.actual.kind === 'hashed'
            ? "the file does not match the registry's digest"
            : `file ${file.actual.kind}`,
      });
      continue;
    }
    if (tensorHashes.length >= MAX_TENSOR_HASHES) {
      skipped.push({ model: m.digest, reason: `baseline full (${MAX_TENSOR_HASHES} files)` });
      continue;
    }
    tensorHashes.push({ path: m.storePath, digest: m.digest });
    if (m.status !== 'available') continue;
    const reply = await deps.inference.sentinel(m.digest, SENTINEL_PROMPT, maxTokens);
    if (reply.kind === 'answer') {
      if (sentinels.length < MAX_SENTINELS) sentinels.push(referenceOf(reply.answer));
      else skipped.push({ model: m.digest, reason: `baseline full (${MAX_SENTINELS} sentinels)` });
    } else if (reply.kind === 'not_loaded') notLoaded.push(m.digest);
    else
      skipped.push({
        model: m.digest,
        reason: reply.kind === 'unknown' ? 'inference does not serve it' : reply.message,
      });
  }
  const driver = await deps.gpu.driver();
  const devices = (await deps.gpu.deviceNodes()).slice(0, 256);
  return {
    data: {
      host,
      operator: input.operator,
      reason: input.reason,
      tensorHashes,
      sentinels,
      driver,
      devices,
    },
    notLoaded,
    skipped,
    driver,
    devices,
  };
}
