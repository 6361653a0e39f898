import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256Hex, type EventData } from '@secai/contracts';
import type { LoadedEvent } from '@secai/streams';
import type { ServiceClient, TestAppliance } from '@secai/streams/testing';

// What the int specs put on the bus for the watch to read, each signed by its real emitter: the
// engine's active policy (`policy.loaded` on policy/active) and a model the registry stored
// (`model.stored`, its bytes in the store where the registry keeps them).

/** Records `policy.loaded` with `gpu_watch` as the policy engine; returns its digest. */
export async function recordPolicy(
  engine: ServiceClient,
  gpuWatch: Record<string, unknown> | undefined,
): Promise<string> {
  const documents = canonicalJson({
    agent: { version: 1 },
    policy: { version: 1, ...(gpuWatch ? { gpu_watch: gpuWatch } : {}) },
  });
  const digest = `sha256:${sha256Hex(documents)}`;
  const data: EventData<'policy.loaded'> = {
    digest,
    version: 1,
    trigger: 'startup',
    previousDigest: null,
    files: [{ path: '/etc/secai/policy/policy.yaml', digest, sizeBytes: documents.length }],
    documents,
  };
  await engine.store.append([{ type: 'policy.loaded', aggregateId: 'active', data }], {
    expectedSequence: 'any',
  });
  return digest;
}

export interface StoredModel {
  hex: string;
  digest: string;
  storePath: string;
  path: string;
}

/** Writes `bytes` into the store as the registry lays it out and records `model.stored`. */
export async function storeModel(
  registry: ServiceClient,
  storeRoot: string,
  bytes: Buffer,
  name: string,
  fileName = 'model.gguf',
): Promise<StoredModel> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  const storePath = `sha256/${hex}/${fileName}`;
  const path = join(storeRoot, storePath);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, bytes);
  await registry.store.append(
    [
      {
        type: 'model.stored',
        aggregateId: hex,
        data: {
          name,
          format: 'gguf',
          sizeBytes: bytes.length,
          digest: `sha256:${hex}`,
          storePath,
          fromArtifact: hex,
        },
      },
    ],
    { expectedSequence: 0 },
  );
  return { hex, digest: `sha256:${hex}`, storePath, path };
}

/** Every event of the watch's `gpu/<host>` aggregate, verified. */
export async function gpuEvents(app: TestAppliance, host: string): Promise<LoadedEvent[]> {
  return (await app.admin.store.load('gpu', host)).events;
}

export const ofType = <
  T extends 'gpu.baseline.captured' | 'gpu.probe.completed' | 'gpu.anomaly.detected',
>(
  events: LoadedEvent[],
  type: T,
): EventData<T>[] =>
  events.filter((e) => e.event.type === type).map((e) => e.event.data as EventData<T>);
