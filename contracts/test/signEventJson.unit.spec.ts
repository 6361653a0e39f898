import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  catalogue,
  signEvent,
  signEventJson,
  verifyEnvelope,
  type DraftEvent,
  type EventMetadata,
  type Signer,
} from '../src/index.js';
import { createTestPki } from '../src/testing/index.js';

const pki = await createTestPki();
const now = new Date('2026-11-27T10:00:00.123Z');

const started: DraftEvent<'service.started'> = {
  type: 'service.started',
  aggregateId: 'quarantine',
  data: {
    service: 'quarantine',
    version: '1.0.0-ünïcødé "quoted" \\ back\nline \u2028 😀',
    pid: 42,
    configDigest: `sha256:${'c'.repeat(64)}`,
  },
};

function json(draft: DraftEvent): {
  type: DraftEvent['type'];
  aggregateId: string;
  dataJson: string | undefined;
} {
  return { type: draft.type, aggregateId: draft.aggregateId, dataJson: JSON.stringify(draft.data) };
}

describe('signEventJson: the same bytes as signEvent, written directly', () => {
  const signer = pki.signerFor('quarantine');
  const metas: EventMetadata[] = [
    { now },
    { now, id: '0193a1b2-0000-7000-8000-000000000001' },
    { now, id: 'custom id "with" quotes', correlationId: 'corr-1' },
    { now, causationId: 'cause-ü', correlationId: 'c' },
  ];

  it.each(metas.map((meta, i) => [i, meta] as const))('metadata case %i', (_, meta) => {
    const fixed = { ...meta, id: meta.id ?? '0193a1b2-0000-7000-8000-00000000000f' };
    const expected = signEvent(started, signer, fixed).bytes;
    const actual = signEventJson(json(started), signer, fixed);
    expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
    expect(verifyEnvelope(actual, pki.trust).event.data).toEqual(started.data);
  });

  it('a draft with odd aggregate ids and a signer whose keyid needs escaping', () => {
    const odd: DraftEvent<'service.started'> = { ...started, aggregateId: 'q"\\x\u0001' };
    const literal: Signer = {
      service: 'quarantine',
      keyid: 'k"é\u0000',
      sign: (bytes) => signer.sign(bytes),
    };
    const meta = { now, id: 'fixed' };
    const expected = signEvent(odd, literal, meta).bytes;
    expect(Buffer.from(signEventJson(json(odd), literal, meta)).equals(Buffer.from(expected))).toBe(
      true,
    );
  });

  it('data that serialises to nothing leaves the key out, as JSON.stringify does', () => {
    const none = { ...started, data: undefined } as unknown as DraftEvent;
    const meta = { now, id: 'fixed' };
    const expected = signEvent(none, signer, meta).bytes;
    const actual = signEventJson({ ...json(none), dataJson: undefined }, signer, meta);
    expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
  });
});

describe('signEventJson over every event type in the catalogue', () => {
  const fixtures = new URL('./__fixtures__/events/', import.meta.url);
  const signer = pki.signerFor('quarantine');
  it.each(Object.keys(catalogue))('%s: the recorded fixture signs to the same bytes', (type) => {
    const data = JSON.parse(readFileSync(new URL(`${type}.json`, fixtures), 'utf8')) as unknown;
    const draft = { type, aggregateId: 'agg-1', data } as DraftEvent;
    const meta = { now, id: 'fixed-id', causationId: 'cause', correlationId: 'corr' };
    const expected = signEvent(draft, signer, meta).bytes;
    expect(
      Buffer.from(signEventJson(json(draft), signer, meta)).equals(Buffer.from(expected)),
    ).toBe(true);
  });
});
