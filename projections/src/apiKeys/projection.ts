import type { EventData } from '@secai/contracts';
import type { Projection } from '../projection.js';

// The API keys a person's own OpenAI client uses (made by `secai inference key create`): the
// inference service records them (`inference.key.created|revoked`, digest and hint only) and any
// gateway that takes a person's key (inference, the tool firewall) folds the same events, so they
// all agree on which keys are valid after a replay.

/** How the inference service spells its keys: `sk-secai-` then 256 random bits, base64url. */
export const API_KEY_PREFIX = 'sk-secai-';

export const API_KEYS = 'api-keys';

export interface ApiKeyRecord {
  name: string;
  /** `sha256:<hex>` of the key: the key itself is never recorded. */
  keyDigest: string;
  hint: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface ApiKeysDocument {
  /** By name: a revoked name stays listed (names are never reused). */
  keys: Record<string, ApiKeyRecord>;
}

/** Valid (unrevoked) keys by digest → name: what a gateway looks a presented key up in. */
export function validKeyDigests(doc: ApiKeysDocument): Map<string, string> {
  return new Map(
    Object.values(doc.keys)
      .filter((k) => k.revokedAt === null)
      .map((k) => [k.keyDigest, k.name]),
  );
}

/**
 * A fold over `inference-key/<name>`: created once per name (a second creation of a name is
 * ignored, as the service refuses it), revoked for good.
 */
export const apiKeysProjection: Projection<ApiKeysDocument> = {
  name: API_KEYS,
  canHandle: ['inference.key.created', 'inference.key.revoked'],
  initialState: () => ({ keys: {} }),
  evolve(doc, { event }) {
    if (event.type === 'inference.key.created') {
      const d = event.data as EventData<'inference.key.created'>;
      if (Object.hasOwn(doc.keys, d.name)) return doc;
      const record: ApiKeyRecord = {
        name: d.name,
        keyDigest: d.keyDigest,
        hint: d.hint,
        createdBy: d.createdBy,
        createdAt: event.time,
        revokedAt: null,
      };
      return { keys: { ...doc.keys, [d.name]: record } };
    }
    if (event.type === 'inference.key.revoked') {
      const d = event.data as EventData<'inference.key.revoked'>;
      const record = Object.hasOwn(doc.keys, d.name) ? doc.keys[d.name] : undefined;
      if (!record || record.revokedAt !== null) return doc;
      return { keys: { ...doc.keys, [d.name]: { ...record, revokedAt: event.time } } };
    }
    return doc;
  },
};
