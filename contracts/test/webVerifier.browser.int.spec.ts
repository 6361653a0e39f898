import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chainLink, GENESIS_HEAD } from '@secai/projections';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  MAX_ENVELOPE_BYTES,
  encodeEnvelope,
  loadTrustStore,
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
import { createRogueSigner, createTestPki, TEST_PKI_EPOCH } from '../src/testing/index.js';
import type * as Web from '../src/web/index.js';

// The web verifier in headless Chromium (Debian's chromium through playwright-core), bundled by
// Vite for the browser and served under a CSP without 'unsafe-eval': the x509 chain check, the
// Ed25519 keys and signatures of Chromium's WebCrypto and the standalone schema validators give
// the node verifier's verdict for each fixture, and the chain heads projections gives.

const CHROMIUM = process.env.SECAI_CHROMIUM ?? '/usr/bin/chromium';
const WEB_ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), '../src/web/index.ts');
/**
 * Runs before the bundle (a classic script): counts every CSP violation from the start, and makes
 * one on purpose to prove the CSP holds.
 */
const PROBE = `
globalThis.secaiViolations = [];
document.addEventListener('securitypolicyviolation', (e) => globalThis.secaiViolations.push(e.blockedURI));
try { new Function('return 1')(); globalThis.secaiEvalBlocked = false; }
catch { globalThis.secaiEvalBlocked = true; }
`;
const CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'";

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
const signed = (at = now) => signEvent(started, pki.signerFor('quarantine'), { now: at }).bytes;
const signedDoc = (doc: object) => encodeEnvelope(signDocument(doc, pki.signerFor('quarantine')));
const baseDoc = () => toCloudEvent(started, 'quarantine', { now });
const revokedBundle = withRevocation(pki.bundle, {
  keyid: pki.signerFor('quarantine').keyid,
  reason: 'key compromise',
  revokedAt: now.toISOString(),
  effectiveFromSeq: 10,
});

function tampered(): Uint8Array {
  const envelope = JSON.parse(new TextDecoder().decode(signed())) as DsseEnvelope;
  const doc = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as { data: object };
  doc.data = { ...doc.data, pid: 43 };
  const payload = Buffer.from(JSON.stringify(doc)).toString('base64');
  return new TextEncoder().encode(JSON.stringify({ ...envelope, payload }));
}

interface Fixture {
  name: string;
  bytes: Uint8Array;
  options: Web.WebVerifyOptions;
  revoked?: boolean;
}

const fixtures: Fixture[] = [
  { name: 'valid', bytes: signed(), options: { natsSubject: 'secai.evt.service.quarantine' } },
  { name: 'tampered payload', bytes: tampered(), options: {} },
  {
    name: 'unknown key',
    bytes: signEvent(started, createRogueSigner('quarantine'), { now }).bytes,
    options: {},
  },
  {
    name: 'revoked, before the cut-off',
    bytes: signed(),
    options: { streamSeq: 9 },
    revoked: true,
  },
  { name: 'revoked, at the cut-off', bytes: signed(), options: { streamSeq: 10 }, revoked: true },
  { name: 'outside the validity', bytes: signed(new Date('1999-01-01T00:00:00Z')), options: {} },
  {
    name: 'source mismatch',
    bytes: signedDoc({ ...baseDoc(), source: 'secai://registry' }),
    options: {},
  },
  {
    name: 'not authorised',
    bytes: signedDoc({
      ...baseDoc(),
      type: 'model.stored',
      subject: 'model/abc',
      dataschema: 'urn:secai:event:model.stored:v1',
    }),
    options: {},
  },
  {
    name: 'subject mismatch',
    bytes: signed(),
    options: { natsSubject: 'secai.evt.service.registry' },
  },
  {
    name: 'schema invalid',
    bytes: signedDoc({ ...baseDoc(), data: { service: 'nobody', version: 7 } }),
    options: {},
  },
  {
    name: 'date-time format',
    bytes: signEvent(
      {
        type: 'identity.root.created',
        aggregateId: 'root',
        data: { keyid: 'ab'.repeat(32), certificate: 'pem', notAfter: 'noon' },
      },
      pki.signerFor('appliance'),
      { now },
    ).bytes,
    options: {},
  },
  { name: 'malformed', bytes: new TextEncoder().encode('{"payloadType":1}'), options: {} },
  { name: 'too large', bytes: new Uint8Array(MAX_ENVELOPE_BYTES + 1), options: {} },
];

function nodeVerdict(fixture: Fixture, trust: TrustStore): { code: string; message?: string } {
  try {
    verifyEnvelope(fixture.bytes, trust, fixture.options);
    return { code: 'none' };
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { code: error.code, message: error.message };
  }
}

let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-web-browser-'));
  await writeFile(join(dir, 'validators.mjs'), standaloneValidatorsSource());
  await writeFile(
    join(dir, 'entry.js'),
    [
      `import * as web from ${JSON.stringify(WEB_ENTRY)};`,
      `import validators from './validators.mjs';`,
      'web.setSchemaValidators(validators);',
      'globalThis.secaiWeb = web;',
    ].join('\n'),
  );
  await build({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    build: {
      outDir: join(dir, 'out'),
      minify: false,
      target: 'es2022',
      rollupOptions: {
        input: join(dir, 'entry.js'),
        output: { entryFileNames: 'bundle.js' },
      },
    },
  });
  const bundle = await readFile(join(dir, 'out', 'bundle.js'));
  server = createServer((request, response) => {
    response.setHeader('Content-Security-Policy', CSP);
    if (request.url === '/bundle.js' || request.url === '/probe.js') {
      response.setHeader('Content-Type', 'text/javascript');
      response.end(request.url === '/bundle.js' ? bundle : PROBE);
    } else {
      response.setHeader('Content-Type', 'text/html');
      response.end(
        '<!doctype html><script src="/probe.js"></script>' +
          '<script type="module" src="/bundle.js"></script>',
      );
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  const { port } = server.address() as { port: number };
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => 'secaiWeb' in globalThis);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => server?.close(done));
  if (dir) await rm(dir, { recursive: true, force: true });
});

declare global {
  var secaiWeb: typeof Web;
}

describe('the web verifier in Chromium', () => {
  it('gives the node verifier’s verdict for every fixture, under a CSP without eval', async () => {
    const revokedTrust = await loadTrustStore(revokedBundle, { now: TEST_PKI_EPOCH });
    const expected = fixtures.map((fixture) =>
      nodeVerdict(fixture, fixture.revoked ? revokedTrust : pki.trust),
    );
    const actual = await page.evaluate(
      async ({ bundle, revoked, rootKeyid, now, cases }) => {
        const web = globalThis.secaiWeb;
        const at = new Date(now);
        const trust = await web.loadWebTrustStore(bundle, { now: at, rootKeyid });
        const revokedTrust = await web.loadWebTrustStore(revoked, { now: at, rootKeyid });
        const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const out = [];
        for (const fixture of cases) {
          const verdict = await web.verdictOf(
            bytesOf(fixture.bytes),
            fixture.revoked ? revokedTrust : trust,
            fixture.options,
          );
          out.push(
            verdict.ok ? { code: 'none' } : { code: verdict.code, message: verdict.message },
          );
        }
        return out;
      },
      {
        bundle: pki.bundle,
        revoked: revokedBundle,
        rootKeyid: pki.root.keyid,
        now: TEST_PKI_EPOCH.toISOString(),
        cases: fixtures.map((fixture) => ({
          bytes: Buffer.from(fixture.bytes).toString('base64'),
          options: fixture.options,
          revoked: fixture.revoked ?? false,
        })),
      },
    );
    expect(actual.map((verdict, i) => ({ name: fixtures[i]!.name, ...verdict }))).toEqual(
      expected.map((verdict, i) => ({ name: fixtures[i]!.name, ...verdict })),
    );
    expect(expected.map((verdict) => verdict.code)).toEqual([
      'none',
      'SIGNATURE_INVALID',
      'KEY_UNKNOWN',
      'none',
      'CERT_REVOKED',
      'CERT_EXPIRED',
      'SOURCE_MISMATCH',
      'TYPE_NOT_AUTHORISED',
      'SUBJECT_MISMATCH',
      'SCHEMA_INVALID',
      'SCHEMA_INVALID',
      'ENVELOPE_MALFORMED',
      'TOO_LARGE',
    ]);
    // The format check ran (ajv-formats inlined into the standalone module).
    expect(actual[10]?.message).toMatch(/notAfter: must match format "date-time"$/);
    // The CSP is in force (the probe's eval was refused), and the probe is its only violation:
    // nothing in the bundle evaluated code, while it loaded or while it verified.
    const csp = await page.evaluate(() => ({
      evalBlocked: (globalThis as { secaiEvalBlocked?: boolean }).secaiEvalBlocked,
      violations: (globalThis as { secaiViolations?: string[] }).secaiViolations,
    }));
    expect(csp).toEqual({ evalBlocked: true, violations: ['eval'] });
    expect(pageErrors).toEqual([]);
  });

  it('refuses a trust bundle whose root is not the pinned one', async () => {
    const code = await page.evaluate(async (bundle) => {
      const web = globalThis.secaiWeb;
      return web
        .loadWebTrustStore(bundle, { now: new Date('2001-01-01'), rootKeyid: 'ab'.repeat(32) })
        .then(
          () => 'none',
          (error: { code?: string }) => error.code ?? 'no code',
        );
    }, pki.bundle);
    expect(code).toBe('CERT_CHAIN_INVALID');
  });

  it('computes the chain heads projections computes', async () => {
    const entries = [signed(), tampered(), signed(new Date('2026-01-01T00:00:00Z'))];
    let head = GENESIS_HEAD;
    const heads = entries.map((bytes, i) => (head = chainLink(head, i + 1, bytes)));
    const webHeads = await page.evaluate(
      async (cases) => {
        const web = globalThis.secaiWeb;
        let head = web.GENESIS_HEAD;
        const out: string[] = [];
        for (const [i, b64] of cases.entries()) {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          head = await web.linkHeadWeb(head, i + 1, await web.entryDigestWeb(bytes));
          out.push(head);
        }
        return out;
      },
      entries.map((bytes) => Buffer.from(bytes).toString('base64')),
    );
    expect(webHeads).toEqual(heads);
  });
});
