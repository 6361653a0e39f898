import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { pino } from 'pino';
import {
  canonicalJson,
  issueBearerToken,
  newEventId,
  sha256Hex,
  verifyEnvelope,
  type DsseEnvelope,
} from '@secai/contracts';
import { sendCommand, type LoadedEvent } from '@secai/streams';
import { startTestAppliance, type ServiceClient, type TestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_AK_HANDLE,
  Tpm2Tools,
  missingTpmTools,
  missingToolsMessage,
  profilePath,
  reasonCodes,
  startAttestor,
  startSwtpm,
  type RunningAttestor,
  type StartAttestorOptions,
  type Swtpm,
  type TpmPort,
} from '../src/index.js';

// The real parts (ARCHITECTURE §7): a private nats-server, a private swtpm started here, tpm2-tools
// 5.4, and the attestor in-process. Without swtpm/tpm2-tools every test is skipped, saying which
// Debian packages to install.

const log = pino({ level: 'silent' });
const HOST = 'int-host';
const missing = await missingTpmTools();
const SKIP = missingToolsMessage(missing);

let app: TestAppliance;
let conn: ServiceClient;
let swtpm: Swtpm | null = null;
let stateDir: string;
let running: RunningAttestor | null = null;
/** What the test seam does to the nonce on its way into tpm2_quote. */
let tamperNonce: ((nonce: string) => string) | null = null;

/** The real edge, with the nonce sent to the TPM replaceable: a replayed or forged quote. */
const wrapTpm = (real: Tpm2Tools): TpmPort => ({
  manufacturer: () => real.manufacturer(),
  persistentHandles: () => real.persistentHandles(),
  readPublicPem: (h) => real.readPublicPem(h),
  createAttestationKey: (h) => real.createAttestationKey(h),
  removeAttestationKey: (h) => real.removeAttestationKey(h),
  quote: (h, pcrs, nonce) => real.quote(h, pcrs, tamperNonce ? tamperNonce(nonce) : nonce),
  checkQuote: (pem, q, nonce) => real.checkQuote(pem, q, nonce),
});

const options = (over: Partial<StartAttestorOptions> = {}): StartAttestorOptions => ({
  stateDir,
  policyDir: join(stateDir, 'policy'),
  tcti: swtpm?.tcti ?? 'none',
  intervalMs: 0,
  log,
  host: HOST,
  wrapTpm,
  secureBootPath: join(stateDir, 'no-efivar'),
  hypervisor: () => Promise.resolve(false),
  ...over,
});

beforeAll(async () => {
  app = await startTestAppliance();
  conn = await app.client('runtime-attestor');
  stateDir = await mkdtemp(join(tmpdir(), 'secai-attestor-int-'));
  if (missing.length === 0) swtpm = await startSwtpm();
});

afterAll(async () => {
  await running?.stop();
  await swtpm?.stop();
  await app?.cleanup();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

function needTpm(ctx: TestContext): void {
  if (missing.length > 0 || !swtpm) ctx.skip(SKIP);
}

async function start(over: Partial<StartAttestorOptions> = {}): Promise<RunningAttestor> {
  await running?.stop();
  running = await startAttestor(conn, options(over));
  return running;
}

async function events(host = HOST): Promise<LoadedEvent[]> {
  return (await app.admin.store.load('attestation', host)).events;
}

const token = (service: string) =>
  issueBearerToken(app.pki.signerFor(service), { audience: 'runtime-attestor', now: new Date() });

function get(url: string, service?: string, r = running!) {
  return r.http.inject({
    method: 'GET',
    url,
    ...(service ? { headers: { authorization: `Bearer ${token(service)}` } } : {}),
  });
}

function post(body?: object, service = 'cli', r = running!) {
  return r.http.inject({
    method: 'POST',
    url: '/api/v1/attest',
    headers: { authorization: `Bearer ${token(service)}` },
    ...(body ? { payload: body } : {}),
  });
}

interface VerifyBody {
  satisfied: boolean;
  mode: string;
  lastEventId: string | null;
  reasons: string[];
}
interface AttestBody {
  outcome: string;
  eventId: string;
  nonce: string;
  reasons: string[];
  policySatisfied: boolean;
}

describe('with swtpm (evaluation mode)', () => {
  it('enrols on first start, then records a good quote as attestation.verified', async (ctx) => {
    needTpm(ctx);
    const r = await start();
    expect(r.mode).toBe('evaluation');
    const history = await events();
    expect(history.map((e) => e.event.type)).toEqual([
      'attestation.enrolled',
      'attestation.verified',
    ]);
    const [enrolled, verified] = history as [LoadedEvent, LoadedEvent];
    expect(enrolled.event).toMatchObject({
      source: 'secai://runtime-attestor',
      subject: `attestation/${HOST}`,
    });
    const profile = JSON.parse(await readFile(profilePath(stateDir), 'utf8')) as {
      akPublicPem: string;
      akHandle: string;
      eventId: string;
    };
    expect(profile.eventId).toBe(enrolled.event.id);
    expect(profile.akHandle).toBe(DEFAULT_AK_HANDLE);
    expect((await lstat(profilePath(stateDir))).mode & 0o777).toBe(0o600);
    expect(enrolled.event.data).toEqual({
      host: HOST,
      mode: 'evaluation',
      akDigest: `sha256:${sha256Hex(profile.akPublicPem)}`,
      pcrSelection: 'sha256:0,2,4,7',
      pcrBaseline: [0, 2, 4, 7].map((index) => ({
        index,
        value: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
      })),
      quotedPcrDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as string,
      deploymentDigest: null,
    });
    // The key really is persisted in the TPM, and it is the enrolled one.
    const tools = new Tpm2Tools({ tcti: swtpm!.tcti });
    expect(await tools.persistentHandles()).toContain(DEFAULT_AK_HANDLE);
    expect((await tools.readPublicPem(DEFAULT_AK_HANDLE)).trim()).toBe(profile.akPublicPem.trim());
    // swtpm has no resource manager: enrolment flushed every transient object it created.
    expect(await tools.transientHandles()).toEqual([]);

    expect(verified.event.data).toMatchObject({
      host: HOST,
      mode: 'evaluation',
      requestedBy: null,
      nonce: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
      quoteDigest: expect.stringMatching(/^sha256:/) as string,
      pcrDigest: (enrolled.event.data as { quotedPcrDigest: string }).quotedPcrDigest,
      checks: {
        tpmAvailable: true,
        quoteVerified: true,
        measurementsVerified: true,
        secureBoot: false,
      },
      evidenceVerified: false,
      policySatisfied: true,
    });
    expect(r.initial).toMatchObject({ outcome: 'verified', eventId: verified.event.id });
  });

  it('serves the gate, the signed state with its bundle, and health; tokens are scoped', async (ctx) => {
    needTpm(ctx);
    const r = running!;
    const latest = r.attestor.latest!;
    expect((await get('/health')).json()).toEqual({
      status: 'ok',
      mode: 'evaluation',
      outcome: 'verified',
      lastEventId: latest.eventId,
      bus: { state: 'connected', since: expect.any(String) as string, reconnects: 0 },
    });
    expect((await get('/api/v1/verify')).statusCode).toBe(401);
    expect((await get('/api/v1/verify', 'agent')).statusCode).toBe(403);
    const verify = await get('/api/v1/verify', 'appliance');
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({
      satisfied: true,
      mode: 'evaluation',
      lastEventId: latest.eventId,
      reasons: [],
    });

    const state = (await get('/api/v1/state', 'cli')).json<{
      eventId: string;
      envelope: DsseEnvelope;
      bundle: { nonce: string; evidence: { kind: string }; quoteArtifacts: { signature: string } };
    }>();
    expect(state.eventId).toBe(latest.eventId);
    // The envelope is the stored, signed one: anyone holding the trust bundle can check it.
    const checked = verifyEnvelope(Buffer.from(JSON.stringify(state.envelope)), app.pki.trust);
    expect(checked.event.id).toBe(latest.eventId);
    const data = checked.event.data as { bundleDigest: string; nonce: string };
    expect(`sha256:${sha256Hex(canonicalJson(state.bundle))}`).toBe(data.bundleDigest);
    expect(state.bundle).toMatchObject({ nonce: data.nonce, evidence: { kind: 'tpm' } });
    expect(state.bundle.quoteArtifacts.signature).toMatch(/^[0-9a-f]+$/);

    const enrolment = (await get('/api/v1/enrolment', 'ui')).json<{ akPublicPem: string }>();
    expect(enrolment.akPublicPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('answers runtime-attestor.attest once the event is stored, caused by the request', async (ctx) => {
    needTpm(ctx);
    const cli = await app.client('cli');
    const requestId = newEventId();
    const reply = await sendCommand(cli.nc, {
      command: 'runtime-attestor.attest',
      signer: app.pki.signerFor('cli'),
      trust: app.pki.trust,
      request: { reason: 'operator check' },
      requestId,
    });
    expect(reply).toMatchObject({ ok: true, outcome: 'verified' });
    if (!reply.ok) return;
    const stored = (await events()).find((e) => e.event.id === reply.eventId);
    expect(stored?.event).toMatchObject({
      type: 'attestation.verified',
      causationid: requestId,
      data: { requestedBy: 'cli' },
    });
  });

  it('POST /api/v1/attest quotes the caller’s own nonce', async (ctx) => {
    needTpm(ctx);
    const nonce = 'c0'.repeat(32);
    const res = await post({ reason: 'recovery', nonce }, 'incident-recorder');
    expect(res.statusCode).toBe(200);
    const body = res.json<AttestBody>();
    expect(body).toMatchObject({ outcome: 'verified', nonce, policySatisfied: true, reasons: [] });
    expect((await post({ nonce: 'XYZ' })).json()).toMatchObject({ code: 'REQUEST_INVALID' });
    expect((await post(undefined, 'agent')).statusCode).toBe(403);
    expect((await post()).json()).toMatchObject({ outcome: 'verified' });
  });

  it('serialises runs; requests arriving while a run waits share it', async (ctx) => {
    needTpm(ctx);
    const attestor = running!.attestor;
    const before = (await events()).length;
    const [a, b, c, own] = await Promise.all([
      attestor.attest({ requestedBy: 'cli' }),
      attestor.attest({ requestedBy: 'ui' }),
      attestor.attest({ requestedBy: 'appliance' }),
      attestor.attest({ requestedBy: 'cli', nonce: 'd0'.repeat(32) }),
    ]);
    // None had started when the others arrived: one run (its nonce drawn after all three
    // requests) answers them, for the first requester; a caller's own nonce gets its own run.
    expect(new Set([a.eventId, b.eventId, c.eventId]).size).toBe(1);
    expect(own.eventId).not.toBe(a.eventId);
    expect(a.data.requestedBy).toBe('cli');
    expect(own.data.nonce).toBe('d0'.repeat(32));
    expect(await events()).toHaveLength(before + 2);
    expect(attestor.busy).toBe(false);
  });

  it('a restart keeps the enrolment: no second attestation.enrolled', async (ctx) => {
    needTpm(ctx);
    const before = (await events()).length;
    const r = await start();
    const after = await events();
    expect(after).toHaveLength(before + 1);
    expect(after.filter((e) => e.event.type === 'attestation.enrolled')).toHaveLength(1);
    expect(r.initial.outcome).toBe('verified');
  });

  it('a quote answering another nonce fails (nonce_mismatch) and closes the gate', async (ctx) => {
    needTpm(ctx);
    tamperNonce = () => 'ee'.repeat(32);
    try {
      const body = (await post({ reason: 'replay' })).json<AttestBody>();
      expect(body.outcome).toBe('failed');
      expect(reasonCodes(body.reasons)).toEqual(['nonce_mismatch']);
      expect(body.reasons[0]).toMatch(/answers challenge eeeeeeeeeeeeeeee…/);
      const stored = (await events()).find((e) => e.event.id === body.eventId)!;
      expect(stored.event.type).toBe('attestation.failed');
      expect(stored.event.data).toMatchObject({
        policySatisfied: false,
        checks: { tpmAvailable: true, quoteVerified: false, measurementsVerified: false },
      });
      expect((await get('/api/v1/verify', 'appliance')).json()).toMatchObject({
        satisfied: false,
        lastEventId: body.eventId,
      });
    } finally {
      tamperNonce = null;
    }
    // An honest quote afterwards opens it again: nothing about the host changed.
    expect((await post()).json()).toMatchObject({ outcome: 'verified' });
    expect((await get('/api/v1/verify', 'appliance')).json()).toMatchObject({ satisfied: true });
  });

  it('a changed PCR 7 fails naming PCR 7, and the gate stays closed', async (ctx) => {
    needTpm(ctx);
    const baseline = running!.attestor.profile!.enrolment.pcrBaseline.find((p) => p.index === 7)!;
    await swtpm!.extendPcr(7, 'ab'.repeat(32));
    const cli = await app.client('cli');
    const reply = await sendCommand(cli.nc, {
      command: 'runtime-attestor.attest',
      signer: app.pki.signerFor('cli'),
      trust: app.pki.trust,
      request: { reason: 'after a boot change' },
    });
    expect(reply).toMatchObject({ ok: true, outcome: 'failed' });
    if (!reply.ok) return;
    const stored = (await events()).find((e) => e.event.id === reply.eventId)!;
    const reasons = (stored.event.data as { reasons: string[] }).reasons;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(
      new RegExp(
        `^pcr_mismatch: PCR 7 \\(sha256\\) expected 0x${baseline.value} actual 0x[0-9a-f]{64}$`,
      ),
    );
    expect(stored.event.data).toMatchObject({
      checks: { quoteVerified: true, measurementsVerified: false },
      policySatisfied: false,
    });
    const verify = (await get('/api/v1/verify', 'appliance')).json<VerifyBody>();
    expect(verify).toMatchObject({ satisfied: false, lastEventId: reply.eventId });
    expect(verify.reasons).toEqual(reasons);
    expect((await get('/health')).json()).toMatchObject({ outcome: 'failed' });
    // Periodic runs keep saying so (and the recorder correlates them).
    expect((await running!.attestor.tick())?.outcome).toBe('failed');
  });

  it('refuses a caller that may not ask, and records the refusal', async (ctx) => {
    needTpm(ctx);
    const reply = await sendCommand(app.admin.nc, {
      command: 'runtime-attestor.attest',
      signer: app.pki.signerFor('agent'),
      trust: app.pki.trust,
      request: { reason: 'not mine to ask' },
    });
    expect(reply).toMatchObject({ ok: false, code: 'TYPE_NOT_AUTHORISED' });
    const log = (await app.admin.store.load('service', 'runtime-attestor')).events;
    expect(
      log.some(
        (e) =>
          e.event.type === 'security.envelope.rejected' &&
          (e.event.data as { code: string }).code === 'TYPE_NOT_AUTHORISED',
      ),
    ).toBe(true);
  });

  it('a TPM that stops answering fails the run (tpm_unavailable)', async (ctx) => {
    needTpm(ctx);
    await swtpm!.stop();
    swtpm = null;
    const body = (await post({ reason: 'tpm gone' })).json<AttestBody>();
    expect(body.outcome).toBe('failed');
    expect(reasonCodes(body.reasons)).toEqual(['tpm_unavailable']);
    expect(body.reasons[0]).toMatch(/does not answer/);
  });
});

describe('without a TPM (software mode)', () => {
  it('never satisfies require: evaluation, and is only degraded under require: none', async () => {
    const softDir = await mkdtemp(join(tmpdir(), 'secai-attestor-soft-'));
    let soft: RunningAttestor | null = null;
    try {
      soft = await startAttestor(conn, {
        ...options(),
        stateDir: softDir,
        policyDir: join(softDir, 'policy'),
        tcti: 'none',
        host: 'soft-host',
      });
      expect(soft.mode).toBe('software');
      const history = await events('soft-host');
      // Development mode is declared once per start, before the first run (issue 9 §7).
      expect(history.map((e) => e.event.type)).toEqual([
        'attestation.enrolled',
        'attestation.development_mode.declared',
        'attestation.failed',
      ]);
      expect(history[0]!.event.data).toMatchObject({
        mode: 'software',
        akDigest: null,
        pcrBaseline: [],
      });
      expect(reasonCodes((history[2]!.event.data as { reasons: string[] }).reasons)).toEqual([
        'software_mode',
        'mode_insufficient',
      ]);
      expect((await get('/api/v1/verify', 'appliance', soft)).json()).toMatchObject({
        satisfied: false,
        mode: 'software',
      });
      await soft.stop();

      await writeFile(
        join(softDir, 'policy', 'attestation.yaml'),
        'version: 1\nrequire: none\npcrs: [0, 2, 4, 7]\ninterval_seconds: 300\n',
      );
      soft = await startAttestor(conn, {
        ...options(),
        stateDir: softDir,
        policyDir: join(softDir, 'policy'),
        tcti: 'none',
        host: 'soft-host',
      });
      expect(soft.initial.outcome).toBe('degraded');
      expect((await get('/api/v1/verify', 'appliance', soft)).json()).toMatchObject({
        satisfied: true,
        mode: 'software',
        reasons: [expect.stringMatching(/^software_mode:/) as string],
      });
      expect(
        (await events('soft-host')).filter((e) => e.event.type === 'attestation.enrolled'),
      ).toHaveLength(1);
    } finally {
      await soft?.stop();
      await rm(softDir, { recursive: true, force: true });
    }
  });
});
