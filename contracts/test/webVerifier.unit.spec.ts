import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chainLink, GENESIS_HEAD as PROJECTIONS_GENESIS } from '@secai/projections';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64 } from '../src/envelope/rules.js';
import {
  EnvelopeError,
  IdentityError,
  MAX_ENVELOPE_BYTES,
  PAYLOAD_TYPE,
  catalogue,
  decodePayload,
  encodeEnvelope,
  loadTrustStore,
  parseEnvelope,
  signDocument,
  signEvent,
  toCloudEvent,
  verifyEnvelope,
  withRevocation,
  type DraftEvent,
  type DsseEnvelope,
  type TrustStore,
} from '../src/index.js';
import { standaloneValidatorsSource } from '../src/standalone.js';
import {
  createOutsiderPki,
  createRogueSigner,
  createTestPki,
  TEST_PKI_EPOCH,
} from '../src/testing/index.js';
import {
  GENESIS_HEAD,
  WebChainError,
  chainLinkWeb,
  decodePayloadWeb,
  entryDigestWeb,
  envelopeDigestWeb,
  linkHeadWeb,
  loadWebTrustStore,
  setSchemaValidators,
  verdictOf,
  verifyEnvelopeWeb,
  type SchemaValidators,
  type WebTrustStore,
  type WebVerifyOptions,
} from '../src/web/index.js';

const pki = await createTestPki();
const now = new Date('2026-11-27T10:00:00.000Z');
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as DsseEnvelope;

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
const signed = (draft: DraftEvent, service = 'quarantine', at = now) =>
  signEvent(draft, pki.signerFor(service), { now: at }).bytes;
/** Signs any CloudEvent-shaped document with a real, trusted key. */
const signedDoc = (doc: object, service = 'quarantine') =>
  encodeEnvelope(signDocument(doc, pki.signerFor(service)));
const baseDoc = () => toCloudEvent(started, 'quarantine', { now });

let dir: string;
let validators: SchemaValidators;
let webTrust: WebTrustStore;

beforeAll(async () => {
  // The generated module is imported exactly as the page gets it: one self-contained ES module.
  dir = await mkdtemp(join(tmpdir(), 'secai-web-verifier-'));
  const file = join(dir, 'validators.mjs');
  await writeFile(file, standaloneValidatorsSource());
  validators = ((await import(pathToFileURL(file).href)) as { default: SchemaValidators }).default;
  webTrust = await loadWebTrustStore(pki.bundle, {
    now: TEST_PKI_EPOCH,
    rootKeyid: pki.root.keyid,
  });
});
afterAll(async () => {
  setSchemaValidators(undefined);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => setSchemaValidators(validators));

type Outcome =
  { code: string; message: string; claims: unknown } | { code: 'none'; value: unknown };

function nodeOutcome(bytes: Uint8Array, trust: TrustStore, options: WebVerifyOptions): Outcome {
  try {
    return { code: 'none', value: verifyEnvelope(bytes, trust, options) };
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { code: error.code, message: error.message, claims: error.claims };
  }
}

async function webOutcome(
  bytes: Uint8Array,
  trust: WebTrustStore,
  options: WebVerifyOptions,
): Promise<Outcome> {
  const verdict = await verdictOf(bytes, trust, options);
  return verdict.ok
    ? { code: 'none', value: verdict.event }
    : { code: verdict.code, message: verdict.message, claims: verdict.claims };
}

/** Both verifiers on the same bytes: the same code, message and claims (or the same event). */
async function expectSameVerdict(
  bytes: Uint8Array,
  expected: string,
  options: WebVerifyOptions = {},
  trusts: { node: TrustStore; web: WebTrustStore } = { node: pki.trust, web: webTrust },
): Promise<void> {
  const node = nodeOutcome(bytes, trusts.node, options);
  const web = await webOutcome(bytes, trusts.web, options);
  expect(node.code).toBe(expected);
  expect(web).toEqual(node);
}

function tamperPayload(bytes: Uint8Array): Uint8Array {
  const envelope = decode(bytes);
  const doc = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
    data: { pid: number };
  };
  doc.data.pid = 43;
  return encode({ ...envelope, payload: Buffer.from(JSON.stringify(doc)).toString('base64') });
}

describe('the web verifier gives the node verifier’s verdict', () => {
  const cases: [string, () => Uint8Array, string, WebVerifyOptions?][] = [
    [
      'a valid event',
      () => signed(started),
      'none',
      { natsSubject: 'secai.evt.service.quarantine' },
    ],
    [
      'a valid event with its type header',
      () => signed(started),
      'none',
      { typeHeader: 'service.started' },
    ],
    ['a tampered payload', () => tamperPayload(signed(started)), 'SIGNATURE_INVALID'],
    [
      'a bad signature',
      () => {
        const envelope = decode(signed(started));
        const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
        sig[0] = sig[0]! ^ 1;
        return encode({
          ...envelope,
          signatures: [{ ...envelope.signatures[0], sig: sig.toString('base64') }],
        });
      },
      'SIGNATURE_INVALID',
    ],
    [
      'a signature of the wrong length',
      () => {
        const envelope = decode(signed(started));
        return encode({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: 'AAAA' }] });
      },
      'SIGNATURE_INVALID',
    ],
    [
      'an unknown key',
      () => signEvent(started, createRogueSigner('quarantine'), { now }).bytes,
      'KEY_UNKNOWN',
    ],
    [
      'a certificate not yet valid at the event time',
      () => signed(started, 'quarantine', new Date('1999-12-31T00:00:00Z')),
      'CERT_EXPIRED',
    ],
    [
      'a source that is not the signer',
      () => signedDoc({ ...baseDoc(), source: 'secai://registry' }),
      'SOURCE_MISMATCH',
    ],
    [
      'a type the emitter may not emit',
      () =>
        signedDoc({
          ...baseDoc(),
          type: 'model.stored',
          subject: 'model/abc',
          dataschema: 'urn:secai:event:model.stored:v1',
        }),
      'TYPE_NOT_AUTHORISED',
    ],
    [
      'an every-service type on another service',
      () => signedDoc({ ...baseDoc(), subject: 'service/registry' }),
      'TYPE_NOT_AUTHORISED',
    ],
    [
      'a type outside the catalogue',
      () => signedDoc({ ...baseDoc(), type: 'service.exploded' }),
      'TYPE_UNKNOWN',
    ],
    [
      'a subject of the wrong aggregate',
      () => signedDoc({ ...baseDoc(), subject: 'model/quarantine' }),
      'SUBJECT_MISMATCH',
    ],
    [
      'a subject that is not a NATS token',
      () => signedDoc({ ...baseDoc(), subject: 'service/a.b' }),
      'SUBJECT_MISMATCH',
    ],
    [
      'an event replayed onto another subject',
      () => signed(started),
      'SUBJECT_MISMATCH',
      { natsSubject: 'secai.evt.service.registry' },
    ],
    [
      'a wrong dataschema',
      () => signedDoc({ ...baseDoc(), dataschema: 'urn:secai:event:service.started:v9' }),
      'SCHEMA_INVALID',
    ],
    [
      'schema-invalid data',
      () => signedDoc({ ...baseDoc(), data: { service: 'quarantine', version: 7, pid: -1 } }),
      'SCHEMA_INVALID',
    ],
    [
      'data with an extra property',
      () => signedDoc({ ...baseDoc(), data: { ...started.data, extra: true } }),
      'SCHEMA_INVALID',
    ],
    [
      'a type header that lies',
      () => signed(started),
      'ENVELOPE_MALFORMED',
      { typeHeader: 'model.promoted' },
    ],
    ['bytes that are not JSON', () => new TextEncoder().encode('{nope'), 'ENVELOPE_MALFORMED'],
    ['invalid UTF-8', () => new Uint8Array([0xff, 0xfe]), 'ENVELOPE_MALFORMED'],
    [
      'a payload that is not base64',
      () =>
        encode({
          payloadType: PAYLOAD_TYPE,
          payload: '%%%',
          signatures: [{ keyid: 'a', sig: '' }],
        }),
      'ENVELOPE_MALFORMED',
    ],
    [
      'two signatures',
      () =>
        encode({
          payloadType: PAYLOAD_TYPE,
          payload: '',
          signatures: [
            { keyid: 'a', sig: '' },
            { keyid: 'b', sig: '' },
          ],
        }),
      'ENVELOPE_MALFORMED',
    ],
    [
      'a signed payload that is not a CloudEvent',
      () => signedDoc({ hello: 'world' }),
      'ENVELOPE_MALFORMED',
    ],
    [
      'a signed CloudEvent without data',
      () => signedDoc({ ...baseDoc(), data: undefined }),
      'ENVELOPE_MALFORMED',
    ],
    [
      'a signed CloudEvent with a bad time',
      () => signedDoc({ ...baseDoc(), time: 'yesterday' }),
      'ENVELOPE_MALFORMED',
    ],
    ['an envelope over the limit', () => new Uint8Array(MAX_ENVELOPE_BYTES + 1), 'TOO_LARGE'],
    ['an envelope over a smaller limit', () => signed(started), 'TOO_LARGE', { maxBytes: 100 }],
  ];

  it.each(cases)('%s', async (_name, bytes, expected, options) => {
    await expectSameVerdict(bytes(), expected, options ?? {});
  });

  it('schema problems are reported word for word as the node verifier reports them', async () => {
    const bytes = signedDoc({ ...baseDoc(), data: { service: 'nobody', version: 7 } });
    const web = await verdictOf(bytes, webTrust);
    expect(web.ok).toBe(false);
    expect(!web.ok && web.message).toMatch(/^data of service\.started is invalid: .*\/version/);
    await expectSameVerdict(bytes, 'SCHEMA_INVALID');
  });

  it('a revoked key: refused at and after the cut-off, history before it still verifies', async () => {
    const bundle = withRevocation(pki.bundle, {
      keyid: pki.signerFor('quarantine').keyid,
      reason: 'key compromise',
      revokedAt: now.toISOString(),
      effectiveFromSeq: 10,
    });
    const trusts = {
      node: await loadTrustStore(bundle, { now: TEST_PKI_EPOCH }),
      web: await loadWebTrustStore(bundle, { now: TEST_PKI_EPOCH, rootKeyid: pki.root.keyid }),
    };
    const bytes = signed(started);
    await expectSameVerdict(bytes, 'none', { streamSeq: 9 }, trusts);
    await expectSameVerdict(bytes, 'CERT_REVOKED', { streamSeq: 10 }, trusts);
    await expectSameVerdict(bytes, 'CERT_REVOKED', {}, trusts);
  });

  it('fails closed with SCHEMA_INVALID while no validators are loaded', async () => {
    setSchemaValidators(undefined);
    const verdict = await verdictOf(signed(started), webTrust);
    expect(verdict).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
    expect(!verdict.ok && verdict.message).toMatch(/not loaded/);
    // Validators passed as an option serve without the module-wide ones.
    const event = await verifyEnvelopeWeb(signed(started), webTrust, {
      schemaValidators: validators,
    });
    expect(event.signer.service).toBe('quarantine');
  });

  it('has a validator for every catalogue type and none that compiles at run time', () => {
    const source = standaloneValidatorsSource();
    expect(source).not.toMatch(/\bnew Function\b|\beval\(|\brequire\("/);
    expect(source).not.toMatch(/^import /m);
    expect(Object.keys(validators).sort()).toEqual(Object.keys(catalogue).sort());
    expect(Object.values(validators).every((validate) => typeof validate === 'function')).toBe(
      true,
    );
  });

  it('returns the verified event the node verifier returns', async () => {
    const bytes = signed(started);
    const web = await verifyEnvelopeWeb(bytes, webTrust, {
      natsSubject: 'secai.evt.service.quarantine',
    });
    expect(web).toEqual(verifyEnvelope(bytes, pki.trust));
    expect(web.signer).toEqual({ service: 'quarantine', keyid: pki.signerFor('quarantine').keyid });
  });

  it('decodes what a refused envelope claims, as decodePayload does', async () => {
    const bytes = tamperPayload(signed(started));
    expect((await verdictOf(bytes, webTrust)).ok).toBe(false);
    const envelope = parseEnvelope(bytes);
    expect(decodePayloadWeb(envelope)).toEqual(decodePayload(envelope));
    expect(() => decodePayloadWeb({ ...envelope, payload: '%%' })).toThrow(EnvelopeError);
  });
});

describe('the web trust store', () => {
  async function identityCode(promise: Promise<unknown>): Promise<string> {
    return promise.then(
      () => 'none',
      (error: unknown) => {
        if (error instanceof IdentityError) return error.code;
        throw error;
      },
    );
  }

  it('holds the same keys and services as the node store', () => {
    expect(webTrust.rootKeyid).toBe(pki.trust.rootKeyid);
    expect(webTrust.services()).toEqual(pki.trust.services());
    for (const signer of pki.signers.values()) {
      const web = webTrust.lookup(signer.keyid);
      const node = pki.trust.lookup(signer.keyid);
      expect(web && { ...web, publicKey: null }).toEqual(node && { ...node, publicKey: null });
    }
  });

  it('refuses a bundle whose root is not the pinned one', async () => {
    const outsider = await createOutsiderPki('quarantine');
    const code = await identityCode(
      loadWebTrustStore(pki.bundle, { now: TEST_PKI_EPOCH, rootKeyid: outsider.root.keyid }),
    );
    expect(code).toBe('CERT_CHAIN_INVALID');
    // A whole foreign bundle, however consistent in itself, is refused by its root too.
    const foreign = {
      ...pki.bundle,
      root: outsider.root.certificatePem,
      certificates: [outsider.certificate],
    };
    expect(await identityCode(loadTrustStore(foreign, { now: TEST_PKI_EPOCH }))).toBe('none');
    expect(
      await identityCode(
        loadWebTrustStore(foreign, { now: TEST_PKI_EPOCH, rootKeyid: pki.root.keyid }),
      ),
    ).toBe('CERT_CHAIN_INVALID');
  });

  it('refuses what the node store refuses, with the same code', async () => {
    const outsider = await createOutsiderPki('quarantine');
    const quarantine = pki.bundle.certificates.find((entry) => entry.service === 'quarantine')!;
    const bundles = {
      smuggled: { ...pki.bundle, certificates: [...pki.bundle.certificates, outsider.certificate] },
      wrongService: { ...pki.bundle, certificates: [{ ...quarantine, service: 'registry' }] },
      wrongKeyid: { ...pki.bundle, certificates: [{ ...quarantine, keyid: 'ab'.repeat(32) }] },
      duplicated: { ...pki.bundle, certificates: [quarantine, quarantine] },
      notPem: { ...pki.bundle, certificates: [{ ...quarantine, pem: 'nothing here' }] },
    };
    const expected = {
      smuggled: 'CERT_CHAIN_INVALID',
      wrongService: 'CERT_SERVICE_MISSING',
      wrongKeyid: 'IDENTITY_CORRUPT',
      duplicated: 'IDENTITY_CORRUPT',
      notPem: 'IDENTITY_CORRUPT',
    };
    for (const [name, bundle] of Object.entries(bundles)) {
      const node = await identityCode(loadTrustStore(bundle, { now: TEST_PKI_EPOCH }));
      const web = await identityCode(
        loadWebTrustStore(bundle, { now: TEST_PKI_EPOCH, rootKeyid: pki.root.keyid }),
      );
      expect({ name, node, web }).toEqual({
        name,
        node: expected[name as keyof typeof expected],
        web: node,
      });
    }
    const later = new Date('2200-01-01T00:00:00Z');
    expect(await identityCode(loadTrustStore(pki.bundle, { now: later }))).toBe('CERT_EXPIRED');
    expect(
      await identityCode(loadWebTrustStore(pki.bundle, { now: later, rootKeyid: pki.root.keyid })),
    ).toBe('CERT_EXPIRED');
  });
});

describe('the audit chain in the browser', () => {
  it('gives the heads projections gives', async () => {
    expect(GENESIS_HEAD).toBe(PROJECTIONS_GENESIS);
    let node = PROJECTIONS_GENESIS;
    let web = GENESIS_HEAD;
    const seqs = [1, 2, 5, 2 ** 32 + 7];
    for (const [index, seq] of seqs.entries()) {
      const bytes = signed({ ...started, data: { ...started.data, pid: index + 1 } });
      node = chainLink(node, seq, bytes);
      web = await linkHeadWeb(web, seq, await entryDigestWeb(bytes));
      expect(web).toBe(node);
      expect(await chainLinkWeb(PROJECTIONS_GENESIS, seq, bytes)).toBe(
        chainLink(PROJECTIONS_GENESIS, seq, bytes),
      );
    }
    expect(await envelopeDigestWeb(new Uint8Array([1, 2, 3]))).toBe(
      `sha256:039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81`,
    );
  });

  it('refuses bad heads and sequences as projections does', async () => {
    const digest = await entryDigestWeb(new Uint8Array(1));
    for (const [head, seq] of [
      ['A'.repeat(64), 1],
      [GENESIS_HEAD, 0],
      [GENESIS_HEAD, 1.5],
    ] as const) {
      const error = await linkHeadWeb(head, seq, digest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WebChainError);
      expect(() => chainLink(head, seq, new Uint8Array(1))).toThrow(
        expect.objectContaining({ code: (error as WebChainError).code }),
      );
    }
  });
});

describe('base64 as node decodes it', () => {
  it('gives Buffer’s bytes for every text the envelope regex lets through', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const texts = [
      '',
      'A',
      'AB',
      'ABC',
      'ABCD',
      'A=',
      'AB=',
      'AB==',
      'ABC=',
      'ABCDE',
      '/w',
      '/x',
      '/+8',
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      let text = '';
      for (let n = next() % 40; n > 0; n--) text += alphabet[next() % 64];
      texts.push(text + '='.repeat(next() % 3));
    }
    for (const text of texts) {
      expect(Buffer.from(decodeBase64(text)).toString('hex'), text).toBe(
        Buffer.from(text, 'base64').toString('hex'),
      );
    }
    expect(() => decodeBase64('ab%d')).toThrow(RangeError);
  });
});
