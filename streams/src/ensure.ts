import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { KV_BUCKETS, eventsStreamConfig, type EventsStreamOptions } from './definitions.js';

export interface EnsureResult {
  stream: { name: string; action: 'created' | 'updated' | 'unchanged' };
  buckets: Record<string, 'created' | 'exists'>;
}

const STREAM_NOT_FOUND = 10059;

/**
 * Creates or updates the events stream and the KV buckets so they match their definitions.
 * Idempotent: running it on every boot changes nothing once the topology is in place.
 */
export async function ensureTopology(
  nc: NatsConnection,
  jsm: JetStreamManager,
  options: EventsStreamOptions & { bucketPrefix?: string } = {},
): Promise<EnsureResult> {
  const wanted = eventsStreamConfig(options);
  let action: EnsureResult['stream']['action'];
  try {
    const info = await jsm.streams.info(wanted.name);
    if (differs(info.config, wanted)) {
      await jsm.streams.update(wanted.name, wanted);
      action = 'updated';
    } else {
      action = 'unchanged';
    }
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NOT_FOUND) throw err;
    await jsm.streams.add(wanted);
    action = 'created';
  }

  const kvm = new Kvm(nc);
  const buckets: EnsureResult['buckets'] = {};
  for (const bucket of Object.values(KV_BUCKETS)) {
    const name = `${options.bucketPrefix ?? ''}${bucket}`;
    const existed = await jsm.streams
      .info(`KV_${name}`)
      .then(() => true)
      .catch(() => false);
    await kvm.create(name, { history: 1, storage: 'file' as never });
    buckets[name] = existed ? 'exists' : 'created';
  }
  return { stream: { name: wanted.name, action }, buckets };
}

function differs(current: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  return Object.entries(wanted).some(([key, value]) => {
    const have = (current as unknown as Record<string, unknown>)[key];
    return JSON.stringify(have) !== JSON.stringify(value);
  });
}
