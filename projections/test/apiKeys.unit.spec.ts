import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import {
  API_KEY_PREFIX,
  ProjectionRunner,
  apiKeyCaller,
  apiKeysProjection,
  validKeyDigests,
  type ProjectedEvent,
} from '../src/index.js';

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): ProjectedEvent => ({
  seq: ++seq,
  event: {
    type,
    subject: `inference-key/${String(data.name)}`,
    time: `2026-12-01T00:00:${String(seq).padStart(2, '0')}.000Z`,
    data,
  } as unknown as CloudEvent,
});
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const created = (name: string, d: string) =>
  ev('inference.key.created', { name, keyDigest: d, hint: 'abcd1234', createdBy: 'alice' });
const revoked = (name: string) =>
  ev('inference.key.revoked', { name, revokedBy: 'alice', reason: '' });

function fold(events: ProjectedEvent[]) {
  const runner = new ProjectionRunner(apiKeysProjection);
  for (const e of events) runner.apply(e);
  return runner.document;
}

describe('api-keys projection', () => {
  it('given a created key, lists it as valid by its digest', () => {
    const doc = fold([created('laptop', digest('a'))]);
    expect(validKeyDigests(doc)).toEqual(new Map([[digest('a'), 'laptop']]));
    expect(doc.keys.laptop).toMatchObject({
      hint: 'abcd1234',
      createdBy: 'alice',
      revokedAt: null,
    });
  });

  it('given a revoked key, keeps the name but no longer lists it as valid', () => {
    const doc = fold([created('laptop', digest('a')), revoked('laptop')]);
    expect(validKeyDigests(doc).size).toBe(0);
    expect(doc.keys.laptop?.revokedAt).not.toBeNull();
  });

  it('ignores a second creation of a name (never reused) and a revocation of an unknown key', () => {
    const doc = fold([
      created('laptop', digest('a')),
      revoked('laptop'),
      created('laptop', digest('b')),
      revoked('phone'),
    ]);
    expect(validKeyDigests(doc).size).toBe(0);
    expect(Object.keys(doc.keys)).toEqual(['laptop']);
    expect(doc.keys.laptop?.keyDigest).toBe(digest('a'));
  });
});

describe('apiKeyCaller', () => {
  const sha = (key: string) => `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
  const key = `${API_KEY_PREFIX}${'k'.repeat(43)}`;

  it('given a valid key, then its caller is key:<name>; an unknown key is null', () => {
    const doc = fold([created('laptop', sha(key))]);
    const callerOf = apiKeyCaller(() => doc);
    expect(callerOf(key)).toBe('key:laptop');
    expect(callerOf(`${API_KEY_PREFIX}${'x'.repeat(43)}`)).toBeNull();
  });

  it('given a key without the prefix or longer than any key, then null (not even hashed)', () => {
    const plain = 'k'.repeat(43);
    const long = `${API_KEY_PREFIX}${'k'.repeat(120)}`;
    const doc = fold([created('bare', sha(plain)), created('long', sha(long))]);
    const callerOf = apiKeyCaller(() => doc);
    expect(callerOf(plain)).toBeNull();
    expect(callerOf(long)).toBeNull();
  });

  it('given the key revoked after a lookup, then the next lookup (new document) is null', () => {
    const runner = new ProjectionRunner(apiKeysProjection);
    runner.apply(created('laptop', sha(key)));
    const callerOf = apiKeyCaller(() => runner.document);
    expect(callerOf(key)).toBe('key:laptop');
    runner.apply(revoked('laptop'));
    expect(callerOf(key)).toBeNull();
  });
});
