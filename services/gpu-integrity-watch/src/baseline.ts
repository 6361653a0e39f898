import type { EventData, SentinelReferenceData } from '@secai/contracts';
import type { DriverFingerprint } from './probes/driver.js';

// The current baseline, rebuilt from the stream: the latest `gpu.baseline.captured` that named
// each model (its sentinel, its file's digest), and the host's driver and device nodes from the
// latest operator ceremony. A capture at a model's first load names that model only and never
// touches the host part: loading a model after swapping the driver must not baseline the driver.

/** The operator a first-load capture is recorded under; the ceremony refuses this name. */
export const AUTO_OPERATOR = 'gpu-integrity-watch';

export type BaselineCaptured = EventData<'gpu.baseline.captured'>;

export interface CaptureMeta {
  eventId: string;
  at: string;
}

export interface GpuBaseline {
  /** Model hex → its sentinel reference and the capture it came from. */
  sentinels: Readonly<Record<string, { reference: SentinelReferenceData } & CaptureMeta>>;
  /** Store path → the digest captured for it. */
  tensorHashes: Readonly<Record<string, { digest: string } & CaptureMeta>>;
  /** What the latest operator ceremony found on the host; null before the first ceremony. */
  host:
    | ({ driver: DriverFingerprint | null; devices: string[]; operator: string } & CaptureMeta)
    | null;
  /** The latest capture of any kind. */
  last: ({ operator: string; reason: string } & CaptureMeta) | null;
}

export function emptyBaseline(): GpuBaseline {
  return { sentinels: {}, tensorHashes: {}, host: null, last: null };
}

/** `sha256:<hex>` → `<hex>`. */
export const hexOf = (digest: string) => digest.replace(/^sha256:/, '');

export function isCeremony(data: Pick<BaselineCaptured, 'operator'>): boolean {
  return data.operator !== AUTO_OPERATOR;
}

/** The baseline after one capture. */
export function applyCapture(
  b: GpuBaseline,
  data: BaselineCaptured,
  meta: CaptureMeta,
): GpuBaseline {
  const sentinels = { ...b.sentinels };
  for (const reference of data.sentinels)
    sentinels[hexOf(reference.model)] = { reference, ...meta };
  const tensorHashes = { ...b.tensorHashes };
  for (const t of data.tensorHashes) tensorHashes[t.path] = { digest: t.digest, ...meta };
  return {
    sentinels,
    tensorHashes,
    host: isCeremony(data)
      ? { driver: data.driver, devices: [...data.devices], operator: data.operator, ...meta }
      : b.host,
    last: { operator: data.operator, reason: data.reason, ...meta },
  };
}

/** Store path → digest, as tensor_hash compares. */
export function tensorBaseline(b: GpuBaseline): Record<string, string> {
  return Object.fromEntries(Object.entries(b.tensorHashes).map(([p, t]) => [p, t.digest]));
}
