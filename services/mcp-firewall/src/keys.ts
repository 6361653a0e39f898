import { createHash } from 'node:crypto';
import type { EventData } from '@secai/contracts';
import { keyOf } from './pinsProjection.js';

// A person's own MCP client authenticates with the API key `secai inference key create` made:
// one key per person for every client endpoint of the appliance. The valid keys are a fold of
// inference's `inference.key.created|revoked` (only the SHA-256 of a key is ever recorded).

/** The prefix of every appliance API key (inference's `KEY_PREFIX`). */
export const KEY_PREFIX = 'sk-secai-';

export interface KeysDocument {
  /** By `keyOf(name)` → the key's digest, or null once revoked. */
  keys: Record<string, { digest: string; revoked: boolean }>;
}

export const KEY_EVENT_TYPES = ['inference.key.created', 'inference.key.revoked'] as const;

export function keyDigestOf(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export function evolveKeys(
  doc: KeysDocument,
  event: { type: string; data: unknown },
): KeysDocument {
  if (event.type === 'inference.key.created') {
    const d = event.data as EventData<'inference.key.created'>;
    if (Object.hasOwn(doc.keys, keyOf(d.name))) return doc;
    return { keys: { ...doc.keys, [keyOf(d.name)]: { digest: d.keyDigest, revoked: false } } };
  }
  if (event.type === 'inference.key.revoked') {
    const d = event.data as EventData<'inference.key.revoked'>;
    const k = keyOf(d.name);
    if (!Object.hasOwn(doc.keys, k) || doc.keys[k]!.revoked) return doc;
    return { keys: { ...doc.keys, [k]: { ...doc.keys[k]!, revoked: true } } };
  }
  return doc;
}

/** Valid keys by digest, rebuilt when the document changes. */
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
        Object.entries(doc.keys)
          .filter(([, k]) => !k.revoked)
          .map(([name, k]) => [k.digest, name.slice(1)]),
      );
      this.#doc = doc;
    }
    const name = this.#byDigest.get(keyDigestOf(key));
    return name === undefined ? null : `key:${name}`;
  }
}
