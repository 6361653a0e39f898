import { createHash, randomBytes } from 'node:crypto';
import type { EventData } from '@secai/contracts';
import type { Projection } from '@secai/projections';
import { InferenceError } from './errors.js';

// API keys for a person's own OpenAI client: made by `secai inference key create`, shown once,
// kept only as their SHA-256 in `inference.key.created`, revocable. The set of valid keys is a
// projection of those events, so every inference process agrees on it after a replay.

export const KEY_PREFIX = 'sk-secai-';

export interface KeyRecord {
  name: string;
  keyDigest: string;
  hint: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface KeysDocument {
  /** By name: a revoked name stays listed (and cannot be reused, so its history stays clear). */
  keys: Record<string, KeyRecord>;
}

export function keyDigestOf(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** 256 random bits; the hint is the part a person sees in `key list`. */
export function newApiKey(): { key: string; keyDigest: string; hint: string } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return {
    key,
    keyDigest: keyDigestOf(key),
    hint: key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 8),
  };
}

export const apiKeysProjection: Projection<KeysDocument> = {
  name: 'inference-keys',
  canHandle: ['inference.key.created', 'inference.key.revoked'],
  initialState: () => ({ keys: {} }),
  evolve(doc, { event }) {
    if (event.type === 'inference.key.created') {
      const d = event.data as EventData<'inference.key.created'>;
      if (Object.hasOwn(doc.keys, d.name)) return doc;
      return {
        keys: {
          ...doc.keys,
          [d.name]: {
            name: d.name,
            keyDigest: d.keyDigest,
            hint: d.hint,
            createdBy: d.createdBy,
            createdAt: event.time,
            revokedAt: null,
          },
        },
      };
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

/** Decides a key creation: names are unique for good (a revoked name is not reused). */
export function decideCreateKey(doc: KeysDocument, name: string): void {
  if (Object.hasOwn(doc.keys, name))
    throw new InferenceError(
      'KEY_EXISTS',
      `a key named ${name} exists or existed; pick another name`,
    );
}

export function decideRevokeKey(doc: KeysDocument, name: string): KeyRecord {
  const record = Object.hasOwn(doc.keys, name) ? doc.keys[name] : undefined;
  if (!record) throw new InferenceError('KEY_UNKNOWN', `no key named ${name}`);
  if (record.revokedAt !== null)
    throw new InferenceError('KEY_UNKNOWN', `the key ${name} was already revoked`);
  return record;
}

/** Index of valid keys by digest, rebuilt when the document changes. */
export class KeyIndex {
  #doc: KeysDocument | null = null;
  #byDigest = new Map<string, string>();

  constructor(private readonly document: () => KeysDocument) {}

  /** The caller (`key:<name>`) of a valid key, or null. */
  callerOf(key: string): string | null {
    if (!key.startsWith(KEY_PREFIX) || key.length > 128) return null;
    const doc = this.document();
    if (doc !== this.#doc) {
      this.#byDigest = new Map(
        Object.values(doc.keys)
          .filter((k) => k.revokedAt === null)
          .map((k) => [k.keyDigest, k.name]),
      );
      this.#doc = doc;
    }
    const name = this.#byDigest.get(keyDigestOf(key));
    return name === undefined ? null : `key:${name}`;
  }
}
