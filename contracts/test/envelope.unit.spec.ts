import { describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  MAX_ENVELOPE_BYTES,
  PAYLOAD_TYPE,
  encodeEnvelope,
  preAuthEncoding,
  signCommand,
  signDocument,
  signEvent,
  toCloudEvent,
  verifyCommand,
  verifyEnvelope,
  withRevocation,
  loadTrustStore,
  type DraftEvent,
  type DsseEnvelope,
  type EnvelopeErrorCode,
  type TrustStore,
} from '../src/index.js';
import { createRogueSigner, createTestPki } from '../src/testing/index.js';

const pki = await createTestPki();
const now = new Date('2026-11-27T10:00:00.000Z');
const started: DraftEvent<'service.started'> = {
  type: 'service.started',
  aggregateId: 'quarantine',
  data: {
    service: 'quarantine',
    version: '1.0.0',
    pid: 42,
    configDigest: `sha256:${'c'.repeat(64)}`,
  },
};

function codeOf(fn: () => unknown): EnvelopeErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (err) {
    if (err instanceof EnvelopeError) return err.code;
    throw err;
  }
}

const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as DsseEnvelope;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
/** Re-signs an arbitrary CloudEvent-shaped document with a real, trusted key. */
const signedDoc = (doc: object, service = 'quarantine') =>
  encodeEnvelope(signDocument(doc, pki.signerFor(service)));
const baseDoc = () => toCloudEvent(started, 'quarantine', { now });

describe('sign and verify', () => {
  it('round-trips an event and returns its signer and aggregate', () => {
    const { bytes, event } = signEvent(started, pki.signerFor('quarantine'), { now });
    const verified = verifyEnvelope(bytes, pki.trust, {
      natsSubject: 'secai.evt.service.quarantine',
      streamSeq: 3,
    });
    expect(verified.event).toEqual(event);
    expect(verified.signer).toEqual({
      service: 'quarantine',
      keyid: pki.signerFor('quarantine').keyid,
    });
    expect(verified.aggregate).toEqual({ type: 'service', id: 'quarantine' });
    expect(event.dataschema).toBe('urn:secai:event:service.started:v1');
    expect(event.source).toBe('secai://quarantine');
  });

  it('signs the DSSE pre-authentication encoding of the exact payload bytes', () => {
    const envelope = signDocument(baseDoc(), pki.signerFor('quarantine'));
    expect(envelope.payloadType).toBe(PAYLOAD_TYPE);
    const payload = Buffer.from(envelope.payload, 'base64');
    expect(
      preAuthEncoding(PAYLOAD_TYPE, payload)
        .toString()
        .startsWith(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${payload.length} {`),
    ).toBe(true);
  });
});

describe('every refusal has its code', () => {
  it('TOO_LARGE before parsing', () => {
    expect(codeOf(() => verifyEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1), pki.trust))).toBe(
      'TOO_LARGE',
    );
    const { bytes } = signEvent(started, pki.signerFor('quarantine'), { now });
    expect(codeOf(() => verifyEnvelope(bytes, pki.trust, { maxBytes: 100 }))).toBe('TOO_LARGE');
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{nope')],
    ['not an object', encode([1])],
    [
      'wrong payloadType',
      encode({ payloadType: 'text/plain', payload: '', signatures: [{ keyid: 'a', sig: '' }] }),
    ],
    [
      'payload not base64',
      encode({ payloadType: PAYLOAD_TYPE, payload: '%%%', signatures: [{ keyid: 'a', sig: '' }] }),
    ],
    ['no signature', encode({ payloadType: PAYLOAD_TYPE, payload: '', signatures: [] })],
    [
      'two signatures',
      encode({
        payloadType: PAYLOAD_TYPE,
        payload: '',
        signatures: [
          { keyid: 'a', sig: '' },
          { keyid: 'b', sig: '' },
        ],
      }),
    ],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe])],
  ])('ENVELOPE_MALFORMED: %s', (_name, bytes) => {
    expect(codeOf(() => verifyEnvelope(bytes, pki.trust))).toBe('ENVELOPE_MALFORMED');
  });

  it('ENVELOPE_MALFORMED when the signed payload is not a CloudEvent', () => {
    const bad = signedDoc({ hello: 'world' });
    expect(codeOf(() => verifyEnvelope(bad, pki.trust))).toBe('ENVELOPE_MALFORMED');
  });

  it('KEY_UNKNOWN for a key outside the trust bundle', () => {
    const { bytes } = signEvent(started, createRogueSigner('quarantine'), { now });
    expect(codeOf(() => verifyEnvelope(bytes, pki.trust))).toBe('KEY_UNKNOWN');
  });

  it('SIGNATURE_INVALID when one payload byte, the signature or the keyid changes', () => {
    const { bytes } = signEvent(started, pki.signerFor('quarantine'), { now });
    const env = decode(bytes);
    const payload = Buffer.from(env.payload, 'base64');
    payload[payload.length - 3] = payload[payload.length - 3]! ^ 1;
    expect(
      codeOf(() =>
        verifyEnvelope(encode({ ...env, payload: payload.toString('base64') }), pki.trust),
      ),
    ).toBe('SIGNATURE_INVALID');
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    sig[0] = sig[0]! ^ 1;
    expect(
      codeOf(() =>
        verifyEnvelope(
          encode({
            ...env,
            signatures: [{ keyid: env.signatures[0]!.keyid, sig: sig.toString('base64') }],
          }),
          pki.trust,
        ),
      ),
    ).toBe('SIGNATURE_INVALID');
    const otherKey = pki.signerFor('registry').keyid;
    expect(
      codeOf(() =>
        verifyEnvelope(
          encode({ ...env, signatures: [{ keyid: otherKey, sig: env.signatures[0]!.sig }] }),
          pki.trust,
        ),
      ),
    ).toBe('SIGNATURE_INVALID');
  });

  it('CERT_REVOKED after the revocation sequence, and not before it', async () => {
    const keyid = pki.signerFor('quarantine').keyid;
    const revoked = await loadTrustStore(
      withRevocation(pki.bundle, {
        keyid,
        reason: 'key leaked',
        revokedAt: now.toISOString(),
        effectiveFromSeq: 100,
      }),
      { now },
    );
    const { bytes } = signEvent(started, pki.signerFor('quarantine'), { now });
    expect(codeOf(() => verifyEnvelope(bytes, revoked, { streamSeq: 99 }))).toBe('none');
    expect(codeOf(() => verifyEnvelope(bytes, revoked, { streamSeq: 100 }))).toBe('CERT_REVOKED');
    expect(codeOf(() => verifyEnvelope(bytes, revoked))).toBe('CERT_REVOKED');
  });

  it('CERT_EXPIRED for an event dated outside the certificate validity', () => {
    const { bytes } = signEvent(started, pki.signerFor('quarantine'), {
      now: new Date('1990-01-01T00:00:00Z'),
    });
    expect(codeOf(() => verifyEnvelope(bytes, pki.trust))).toBe('CERT_EXPIRED');
  });

  it('SOURCE_MISMATCH when a service signs in another service name', () => {
    const doc = { ...baseDoc(), source: 'secai://registry' };
    expect(codeOf(() => verifyEnvelope(signedDoc(doc), pki.trust))).toBe('SOURCE_MISMATCH');
  });

  it('TYPE_UNKNOWN for a type outside the catalogue', () => {
    const doc = { ...baseDoc(), type: 'model.teleported' };
    expect(codeOf(() => verifyEnvelope(signedDoc(doc), pki.trust))).toBe('TYPE_UNKNOWN');
  });

  it('TYPE_NOT_AUTHORISED for a type the signer may not emit, or a shared type on another service aggregate', () => {
    const draft: DraftEvent<'model.stored'> = {
      type: 'model.stored',
      aggregateId: 'ab'.repeat(32),
      data: JSON.parse('{}') as never,
    };
    const { bytes } = signEvent(draft, pki.signerFor('quarantine'), { now });
    expect(codeOf(() => verifyEnvelope(bytes, pki.trust))).toBe('TYPE_NOT_AUTHORISED');
    const foreign = signEvent(
      { ...started, aggregateId: 'registry' },
      pki.signerFor('quarantine'),
      { now },
    );
    expect(codeOf(() => verifyEnvelope(foreign.bytes, pki.trust))).toBe('TYPE_NOT_AUTHORISED');
  });

  it('SUBJECT_MISMATCH for a wrong aggregate type, or an event replayed onto another NATS subject', () => {
    const doc = { ...baseDoc(), subject: 'artifact/quarantine' };
    expect(codeOf(() => verifyEnvelope(signedDoc(doc), pki.trust))).toBe('SUBJECT_MISMATCH');
    const { bytes } = signEvent(started, pki.signerFor('quarantine'), { now });
    expect(
      codeOf(() => verifyEnvelope(bytes, pki.trust, { natsSubject: 'secai.evt.service.registry' })),
    ).toBe('SUBJECT_MISMATCH');
  });

  it('SCHEMA_INVALID for bad data or a wrong schema version', () => {
    const bad = { ...baseDoc(), data: { ...started.data, pid: -1 } };
    expect(codeOf(() => verifyEnvelope(signedDoc(bad), pki.trust))).toBe('SCHEMA_INVALID');
    const extra = { ...baseDoc(), data: { ...started.data, prompt: 'secret' } };
    expect(codeOf(() => verifyEnvelope(signedDoc(extra), pki.trust))).toBe('SCHEMA_INVALID');
    const version = { ...baseDoc(), dataschema: 'urn:secai:event:service.started:v9' };
    expect(codeOf(() => verifyEnvelope(signedDoc(version), pki.trust))).toBe('SCHEMA_INVALID');
  });
});

describe('commands', () => {
  const trust: TrustStore = pki.trust;
  it('accepts a request from a listed caller and a reply from the handler that answers it', () => {
    const request = signCommand(
      'incident-recorder.seal',
      'request',
      { reason: 'export' },
      pki.signerFor('cli'),
      { now },
    );
    const verified = verifyCommand(request.bytes, trust, {
      command: 'incident-recorder.seal',
      direction: 'request',
    });
    expect(verified.signer).toBe('cli');
    const reply = signCommand(
      'incident-recorder.seal',
      'reply',
      { ok: true, sealSeq: 9, toSeq: 8, head: 'a'.repeat(64) },
      pki.signerFor('incident-recorder'),
      { now, causationId: request.document.id },
    );
    expect(
      verifyCommand(reply.bytes, trust, {
        command: 'incident-recorder.seal',
        direction: 'reply',
        inReplyTo: request.document.id,
      }).document.data,
    ).toMatchObject({ ok: true });
  });

  it('refuses a request from a service that is not a caller, a reply from anyone but the handler, and a reply to another request', () => {
    const request = signCommand(
      'incident-recorder.seal',
      'request',
      { reason: 'x' },
      pki.signerFor('quarantine'),
      { now },
    );
    expect(
      codeOf(() =>
        verifyCommand(request.bytes, trust, {
          command: 'incident-recorder.seal',
          direction: 'request',
        }),
      ),
    ).toBe('TYPE_NOT_AUTHORISED');
    const reply = signCommand(
      'incident-recorder.seal',
      'reply',
      { ok: false, code: 'X', message: '' },
      pki.signerFor('registry'),
      { now, causationId: 'r1' },
    );
    expect(
      codeOf(() =>
        verifyCommand(reply.bytes, trust, {
          command: 'incident-recorder.seal',
          direction: 'reply',
          inReplyTo: 'r1',
        }),
      ),
    ).toBe('TYPE_NOT_AUTHORISED');
    const replay = signCommand(
      'incident-recorder.seal',
      'reply',
      { ok: false, code: 'X', message: '' },
      pki.signerFor('incident-recorder'),
      { now, causationId: 'r1' },
    );
    expect(
      codeOf(() =>
        verifyCommand(replay.bytes, trust, {
          command: 'incident-recorder.seal',
          direction: 'reply',
          inReplyTo: 'r2',
        }),
      ),
    ).toBe('SUBJECT_MISMATCH');
    const bad = signCommand(
      'incident-recorder.seal',
      'request',
      { reason: '' },
      pki.signerFor('cli'),
      { now },
    );
    expect(
      codeOf(() =>
        verifyCommand(bad.bytes, trust, {
          command: 'incident-recorder.seal',
          direction: 'request',
        }),
      ),
    ).toBe('SCHEMA_INVALID');
  });
});
