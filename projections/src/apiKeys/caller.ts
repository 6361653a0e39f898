import { sha256Hex } from '@secai/contracts';
import { API_KEY_PREFIX, validKeyDigests, type ApiKeysDocument } from './projection.js';

// What a gateway that takes a person's own API key asks: whose key is this? The valid keys are
// the `api-keys` document the gateway hosts, so a revoked key stops working as soon as its
// revocation is folded.

/** Longer than any key inference makes: refused before it is hashed. */
const MAX_KEY_LENGTH = 128;

/** As inference records a key: `sha256:<hex>` of its UTF-8 bytes. */
const digestOf = (key: string) => `sha256:${sha256Hex(key)}`;

/**
 * The caller (`key:<name>`) of a presented key, or null when it is not a valid key. `document`
 * is read on every call; the digest index is rebuilt only when it returns a different object
 * (the projection's documents are immutable, so a new object is the only way they change).
 */
export function apiKeyCaller(document: () => ApiKeysDocument): (key: string) => string | null {
  let indexed: ApiKeysDocument | null = null;
  let byDigest = new Map<string, string>();
  return (key) => {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > MAX_KEY_LENGTH) return null;
    const doc = document();
    if (doc !== indexed) {
      byDigest = validKeyDigests(doc);
      indexed = doc;
    }
    const name = byDigest.get(digestOf(key));
    return name === undefined ? null : `key:${name}`;
  };
}
