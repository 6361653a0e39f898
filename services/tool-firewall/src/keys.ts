import { createHash } from 'node:crypto';
import { API_KEY_PREFIX, validKeyDigests, type ApiKeysDocument } from '@secai/projections';

// A person's own OpenAI client may hand its model's tool calls here with the API key inference
// gave it (`secai inference key create`). The valid keys are the `api-keys` projection of
// inference's `inference.key.*` events, hosted here too: a revoked key stops opening this gate
// as soon as its revocation is folded.

const digestOf = (key: string) =>
  `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;

export class KeyIndex {
  #doc: ApiKeysDocument | null = null;
  #byDigest = new Map<string, string>();

  constructor(private readonly document: () => ApiKeysDocument) {}

  /** The caller (`key:<name>`) of a valid key, or null. */
  callerOf(key: string): string | null {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 128) return null;
    const doc = this.document();
    if (doc !== this.#doc) {
      this.#byDigest = validKeyDigests(doc);
      this.#doc = doc;
    }
    const name = this.#byDigest.get(digestOf(key));
    return name === undefined ? null : `key:${name}`;
  }
}
