import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import { resolveModel, servableModels } from '../src/catalog.js';
import type { InferenceError } from '../src/errors.js';
import {
  apiKeysProjection,
  decideCreateKey,
  decideRevokeKey,
  KeyIndex,
  keyDigestOf,
  newApiKey,
  type KeysDocument,
} from '../src/keys.js';

const hex = (c: string) => c.repeat(64);
function entry(c: string, name: string, over: Partial<ManifestEntry> = {}): ManifestEntry {
  return {
    digest: `sha256:${hex(c)}`,
    name,
    format: 'gguf',
    sizeBytes: 10,
    storePath: `sha256/${hex(c)}/model.gguf`,
    fromArtifact: hex(c),
    storedAt: '2026-12-07T10:00:00.000Z',
    status: 'available',
    lastVerifiedAt: null,
    note: null,
    ...over,
  };
}
const doc = (...entries: ManifestEntry[]): RegistryManifestDocument => ({
  models: Object.fromEntries(entries.map((e) => [e.digest.slice(7), e])),
});
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as InferenceError).code;
  }
  return null;
};

describe('servable models: exactly the available GGUF models of the manifest', () => {
  const manifest = doc(
    entry('a', 'chat'),
    entry('b', 'twin'),
    entry('c', 'twin'),
    entry('d', 'gone', { status: 'contained', note: 'incident-7' }),
    entry('e', 'broken', { status: 'verification_failed' }),
    entry('f', 'pic', { format: 'safetensors' }),
  );

  it('lists available GGUF models only; clashing names get their digest prefix', () => {
    expect(servableModels(manifest).map((m) => m.id)).toEqual([
      'chat',
      `twin@${hex('b').slice(0, 12)}`,
      `twin@${hex('c').slice(0, 12)}`,
    ]);
  });

  it('resolves by name, id or digest', () => {
    expect(resolveModel(manifest, 'chat').hex).toBe(hex('a'));
    expect(resolveModel(manifest, `sha256:${hex('b')}`).name).toBe('twin');
    expect(resolveModel(manifest, hex('c')).name).toBe('twin');
    expect(resolveModel(manifest, `twin@${hex('c').slice(0, 12)}`).hex).toBe(hex('c'));
  });

  it.each([
    ['twin', 'MODEL_AMBIGUOUS'],
    ['gone', 'MODEL_CONTAINED'],
    [`sha256:${hex('d')}`, 'MODEL_CONTAINED'],
    ['broken', 'MODEL_NOT_AVAILABLE'],
    ['pic', 'MODEL_NOT_AVAILABLE'],
    ['never-heard-of', 'MODEL_UNKNOWN'],
  ])('refuses %s with %s', (name, code) => {
    expect(codeOf(() => resolveModel(manifest, name))).toBe(code);
  });
});

let seq = 0;
const event = (type: string, data: unknown): { seq: number; event: CloudEvent } => ({
  seq: ++seq,
  event: {
    specversion: '1.0',
    id: `e${seq}`,
    source: 'secai://inference',
    type,
    subject: 'inference-key/x',
    time: `2026-12-07T10:00:0${seq % 10}.000Z`,
    datacontenttype: 'application/json',
    dataschema: `urn:secai:event:${type}:v1`,
    correlationid: `e${seq}`,
    data,
  },
});

describe('API keys: shown once, kept as a digest, revocable', () => {
  const made = newApiKey();
  let keys: KeysDocument = apiKeysProjection.initialState();
  keys = apiKeysProjection.evolve(
    keys,
    event('inference.key.created', {
      name: 'laptop',
      keyDigest: made.keyDigest,
      hint: made.hint,
      createdBy: 'alice',
    }),
  );
  const index = () => new KeyIndex(() => keys);

  it('given a new key, then only its digest and hint are kept, and it authenticates', () => {
    expect(JSON.stringify(keys)).not.toContain(made.key);
    expect(keys.keys.laptop!.keyDigest).toBe(keyDigestOf(made.key));
    expect(index().callerOf(made.key)).toBe('key:laptop');
    expect(index().callerOf(`${made.key}x`)).toBeNull();
    expect(index().callerOf(newApiKey().key)).toBeNull();
  });

  it('given an existing name, then creating it again is refused', () => {
    expect(codeOf(() => decideCreateKey(keys, 'laptop'))).toBe('KEY_EXISTS');
    expect(codeOf(() => decideCreateKey(keys, 'phone'))).toBeNull();
  });

  it('given a revocation, then the key stops working, and neither revoking nor reusing the name again is allowed', () => {
    decideRevokeKey(keys, 'laptop');
    const revoked = apiKeysProjection.evolve(
      keys,
      event('inference.key.revoked', { name: 'laptop', revokedBy: 'alice', reason: 'lost' }),
    );
    expect(new KeyIndex(() => revoked).callerOf(made.key)).toBeNull();
    expect(codeOf(() => decideRevokeKey(revoked, 'laptop'))).toBe('KEY_UNKNOWN');
    expect(codeOf(() => decideCreateKey(revoked, 'laptop'))).toBe('KEY_EXISTS');
    expect(codeOf(() => decideRevokeKey(revoked, 'nobody'))).toBe('KEY_UNKNOWN');
  });

  it('is idempotent: the same creation twice changes nothing', () => {
    const again = apiKeysProjection.evolve(
      keys,
      event('inference.key.created', {
        name: 'laptop',
        keyDigest: newApiKey().keyDigest,
        hint: 'abcd',
        createdBy: 'mallory',
      }),
    );
    expect(again).toBe(keys);
  });
});
