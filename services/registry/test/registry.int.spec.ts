import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  COMMANDS,
  commandSubject,
  issueBearerToken,
  signCommand,
  verifyCommand,
  type CommandReply,
  type CommandRequest,
  type CommandType,
  type EventData,
} from '@secai/contracts';
import { sendCommand, type LoadedEvent, type NatsConnection } from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { removeTree, startRegistry, type RunningRegistry } from '../src/index.js';

const log = pino({ level: 'silent' });
let app: TestAppliance;
let registrySide: ServiceClient;
let quarantine: ServiceClient;
let stateDir: string;
let running: RunningRegistry;

beforeAll(async () => {
  app = await startTestAppliance();
  registrySide = await app.client('registry');
  quarantine = await app.client('quarantine');
  stateDir = await mkdtemp(join(tmpdir(), 'secai-registry-int-'));
  running = await startRegistry(registrySide, { stateDir, verifyEveryMs: 0, log });
});

afterAll(async () => {
  await running?.stop();
  await app?.cleanup();
  if (stateDir) await removeTree(stateDir);
});

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Artifact {
  hex: string;
  digest: string;
  fileName: string;
  content: Buffer;
}

/** Bytes of a fake model; distinct per call. */
function modelBytes(size = 64 * 1024): Buffer {
  const content = randomBytes(size);
  content.write('GGUF', 0);
  return content;
}

/** Places a file where the quarantine keeps promoted artifacts (read-only, as it does). */
async function quarantined(fileName: string, content: Buffer, hex = sha(content)) {
  const dir = join(stateDir, 'quarantine', 'artifacts', hex);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, fileName), content, { mode: 0o444 });
  await chmod(dir, 0o555);
  return dir;
}

/** Appends `model.promoted` signed by the quarantine identity; returns its id and sequence. */
async function promote(a: Artifact, name = 'Tiny Model') {
  const data: EventData<'model.promoted'> = {
    decisionId: `decision-${a.hex.slice(0, 8)}`,
    name,
    fileName: a.fileName,
    format: 'gguf',
    digest: a.digest,
    sizeBytes: a.content.length,
    policyDigest: `sha256:${'00'.repeat(32)}`,
  };
  const { ids, lastSequence } = await quarantine.store.append(
    [{ type: 'model.promoted', aggregateId: a.hex, data }],
    { expectedSequence: 'any', correlationId: `corr-${a.hex.slice(0, 8)}` },
  );
  return { id: ids[0]!, seq: lastSequence };
}

async function modelEvents(hex: string): Promise<LoadedEvent[]> {
  return (await app.admin.store.load('model', hex)).events;
}

async function waitForEvent(hex: string, predicate: (e: LoadedEvent) => boolean, what: string) {
  let found: LoadedEvent | undefined;
  await waitFor(
    async () => {
      found = (await modelEvents(hex)).find(predicate);
      return found !== undefined;
    },
    15_000,
    what,
  );
  return found!;
}

async function manifestAt(seq: number) {
  await running.manifest.caughtUp(seq);
  return running.manifest.runner.document;
}

async function lastSeq(hex: string) {
  return app.admin.store.lastSequence('model', hex);
}

/** A fresh model promoted and stored; returns it with its `model.stored` event. */
async function storedModel(fileName = 'tiny.gguf'): Promise<Artifact & { stored: LoadedEvent }> {
  const content = modelBytes();
  const a = { hex: sha(content), digest: `sha256:${sha(content)}`, fileName, content };
  await quarantined(fileName, content);
  const { id } = await promote(a);
  const stored = await waitForEvent(
    a.hex,
    (e) => e.event.type === 'model.stored' && e.event.causationid === id,
    'model.stored',
  );
  return { ...a, stored };
}

/** Sends a signed command and returns the request id with the verified reply. */
async function command<C extends CommandType>(
  nc: NatsConnection,
  signerOf: string,
  name: C,
  request: CommandRequest<C>,
): Promise<{ requestId: string; reply: CommandReply<C> }> {
  const def = COMMANDS[name];
  const { document, bytes } = signCommand(name, 'request', request, app.pki.signerFor(signerOf), {
    now: new Date(),
  });
  const response = await nc.request(commandSubject(def.handler, def.name), bytes, {
    timeout: 10_000,
  });
  const { document: reply } = verifyCommand(response.data, app.pki.trust, {
    command: name,
    direction: 'reply',
    inReplyTo: document.id,
  });
  return { requestId: document.id, reply: reply.data as CommandReply<C> };
}

const storePath = (hex: string, fileName: string) =>
  join(stateDir, 'registry', 'store', 'sha256', hex, fileName);
const containedPath = (hex: string, fileName: string) =>
  join(stateDir, 'registry', 'contained', hex, fileName);
const mode = async (path: string) => (await lstat(path)).mode & 0o777;

describe('promotion into the store', () => {
  it('stores a promoted model read-only, records model.stored and lists it in the manifest', async () => {
    const content = modelBytes(3 * 1024 * 1024 + 17);
    const a = {
      hex: sha(content),
      digest: `sha256:${sha(content)}`,
      fileName: 'tiny.gguf',
      content,
    };
    const qdir = await quarantined(a.fileName, content);
    const { id } = await promote(a);
    const stored = await waitForEvent(
      a.hex,
      (e) => e.event.type === 'model.stored',
      'model.stored',
    );
    expect(stored.event).toMatchObject({
      source: 'secai://registry',
      subject: `model/${a.hex}`,
      causationid: id,
      correlationid: `corr-${a.hex.slice(0, 8)}`,
      data: {
        name: 'Tiny Model',
        format: 'gguf',
        sizeBytes: content.length,
        digest: a.digest,
        storePath: `sha256/${a.hex}/tiny.gguf`,
        fromArtifact: a.hex,
      },
    });
    const path = storePath(a.hex, a.fileName);
    expect((await readFile(path)).equals(content)).toBe(true);
    expect(await mode(path)).toBe(0o444);
    expect(await mode(join(path, '..'))).toBe(0o555);
    await expect(lstat(qdir)).rejects.toMatchObject({ code: 'ENOENT' });
    const doc = await manifestAt(stored.seq);
    expect(doc.models[a.hex]).toMatchObject({
      digest: a.digest,
      status: 'available',
      storePath: `sha256/${a.hex}/tiny.gguf`,
    });
  });

  it('stores nothing new when the same model is promoted again', async () => {
    const a = await storedModel();
    const { seq } = await promote(a);
    await running.consumer.caughtUp(seq);
    expect((await modelEvents(a.hex)).map((e) => e.event.type)).toEqual(['model.stored']);
  });

  it('records the missing model.stored when the bytes already are in the store (crash recovery)', async () => {
    const content = modelBytes();
    const a = { hex: sha(content), digest: `sha256:${sha(content)}`, fileName: 'r.gguf', content };
    const dir = join(stateDir, 'registry', 'store', 'sha256', a.hex);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, a.fileName), content, { mode: 0o444 });
    const { id } = await promote(a);
    const stored = await waitForEvent(a.hex, (e) => e.event.type === 'model.stored', 'stored');
    expect(stored.event.causationid).toBe(id);
  });

  it('does not store a copy that does not match its digest, and leaves it in quarantine', async () => {
    const content = modelBytes();
    const claimed = sha(Buffer.from('other bytes entirely'));
    const qdir = await quarantined('bad.gguf', content, claimed);
    const a = { hex: claimed, digest: `sha256:${claimed}`, fileName: 'bad.gguf', content };
    const { seq } = await promote(a);
    await running.consumer.caughtUp(seq);
    expect(await modelEvents(claimed)).toEqual([]);
    expect(await readdir(qdir)).toEqual(['bad.gguf']);
    await expect(lstat(join(stateDir, 'registry', 'store', 'sha256', claimed))).rejects.toThrow();
  });
});

describe('verification', () => {
  it('answers at once, reports progress, and records model.verified caused by the request', async () => {
    const a = await storedModel();
    const cli = await app.client('cli');
    const progress: { bytesDone: number; totalBytes: number }[] = [];
    const sub = cli.nc.subscribe('secai.progress.registry.>', {
      callback: (_err, msg) => {
        progress.push(msg.json<{ bytesDone: number; totalBytes: number }>());
      },
    });
    const { requestId, reply } = await command(cli.nc, 'cli', 'registry.verify', { model: a.hex });
    expect(reply).toEqual({ ok: true, sizeBytes: a.content.length });
    const verified = await waitForEvent(
      a.hex,
      (e) => e.event.type === 'model.verified' && e.event.causationid === requestId,
      'model.verified',
    );
    expect(verified.event.data).toEqual({
      trigger: 'request',
      expected: a.digest,
      actual: a.digest,
      sizeBytes: a.content.length,
    });
    await waitFor(() => progress.length > 0, 30_000, 'progress'); // generous: a loaded machine
    expect(progress.at(-1)).toEqual({ bytesDone: a.content.length, totalBytes: a.content.length });
    sub.unsubscribe();
    const doc = await manifestAt(verified.seq);
    expect(doc.models[a.hex]?.lastVerifiedAt).toBe(verified.event.time);
  });

  it('detects a tampered file: model.verification.failed, manifest verification_failed', async () => {
    const a = await storedModel();
    const path = storePath(a.hex, a.fileName);
    await chmod(path, 0o644);
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from([a.content[100]! ^ 0xff]), 0, 1, 100);
    await fh.close();
    const cli = await app.client('cli');
    const { requestId, reply } = await command(cli.nc, 'cli', 'registry.verify', { model: a.hex });
    expect(reply).toMatchObject({ ok: true });
    const failed = await waitForEvent(
      a.hex,
      (e) => e.event.type === 'model.verification.failed' && e.event.causationid === requestId,
      'model.verification.failed',
    );
    expect(failed.event.data).toMatchObject({
      trigger: 'request',
      problem: 'mismatch',
      expected: a.digest,
      expectedSizeBytes: a.content.length,
      actualSizeBytes: a.content.length,
    });
    expect((failed.event.data as { actual: string }).actual).not.toBe(a.digest);
    expect((await manifestAt(failed.seq)).models[a.hex]?.status).toBe('verification_failed');
  });

  it('refuses to verify an unknown model', async () => {
    const cli = await app.client('cli');
    const { reply } = await command(cli.nc, 'cli', 'registry.verify', { model: 'ee'.repeat(32) });
    expect(reply).toMatchObject({ ok: false, code: 'model_unknown' });
  });

  it('verifies every served model in a periodic pass', async () => {
    const a = await storedModel();
    const outcomes = await running.verifyAll();
    expect(outcomes.length).toBeGreaterThan(0);
    const periodic = await waitForEvent(
      a.hex,
      (e) =>
        e.event.type === 'model.verified' &&
        (e.event.data as { trigger: string }).trigger === 'periodic',
      'periodic verification',
    );
    expect(periodic.event.causationid).toBeUndefined();
  });
});

describe('containment and removal', () => {
  it('contains a model for an incident, idempotently, and removes it from containment', async () => {
    const a = await storedModel();
    const recorder = await app.client('incident-recorder');
    const first = await command(recorder.nc, 'incident-recorder', 'registry.quarantine_model', {
      model: a.hex,
      reason: 'integrity violation',
      incidentId: 'inc-7',
    });
    expect(first.reply).toEqual({
      ok: true,
      containedPath: `${a.hex}/${a.fileName}`,
      alreadyContained: false,
    });
    const contained = await waitForEvent(
      a.hex,
      (e) => e.event.type === 'model.contained',
      'model.contained',
    );
    expect(contained.event).toMatchObject({
      causationid: first.requestId,
      data: {
        name: 'Tiny Model',
        cause: { kind: 'incident', incidentId: 'inc-7' },
        reason: 'integrity violation',
        containedPath: `${a.hex}/${a.fileName}`,
      },
    });
    expect((await readFile(containedPath(a.hex, a.fileName))).equals(a.content)).toBe(true);
    await expect(lstat(join(stateDir, 'registry', 'store', 'sha256', a.hex))).rejects.toThrow();
    expect((await manifestAt(contained.seq)).models[a.hex]?.status).toBe('contained');

    const second = await command(recorder.nc, 'incident-recorder', 'registry.quarantine_model', {
      model: a.hex,
      reason: 'integrity violation',
      incidentId: 'inc-7',
    });
    expect(second.reply).toEqual({
      ok: true,
      containedPath: `${a.hex}/${a.fileName}`,
      alreadyContained: true,
    });
    expect(
      (await modelEvents(a.hex)).filter((e) => e.event.type === 'model.contained'),
    ).toHaveLength(1);

    const cli = await app.client('cli');
    const removed = await command(cli.nc, 'cli', 'registry.remove', {
      model: a.hex,
      reason: 'evidence exported',
    });
    expect(removed.reply).toEqual({ ok: true, removed: true });
    const event = await waitForEvent(a.hex, (e) => e.event.type === 'model.removed', 'removed');
    expect(event.event).toMatchObject({
      causationid: removed.requestId,
      data: { cause: { kind: 'operator', operator: 'cli' }, reason: 'evidence exported' },
    });
    await expect(lstat(join(stateDir, 'registry', 'contained', a.hex))).rejects.toThrow();
    expect((await manifestAt(event.seq)).models[a.hex]).toBeUndefined();
    const again = await command(cli.nc, 'cli', 'registry.remove', {
      model: a.hex,
      reason: 'again',
    });
    expect(again.reply).toEqual({ ok: true, removed: false });
  });

  it('removes a served model from the store, and refuses unknown models', async () => {
    const a = await storedModel();
    const cli = await app.client('cli');
    const { reply } = await command(cli.nc, 'cli', 'registry.remove', {
      model: a.hex,
      reason: 'x',
    });
    expect(reply).toEqual({ ok: true, removed: true });
    await expect(lstat(join(stateDir, 'registry', 'store', 'sha256', a.hex))).rejects.toThrow();
    const unknown = await command(cli.nc, 'cli', 'registry.quarantine_model', {
      model: 'ef'.repeat(32),
      reason: 'x',
    });
    expect(unknown.reply).toMatchObject({ ok: false, code: 'model_unknown' });
  });

  it('refuses a caller that is not allowed, on the bus and in the handler', async () => {
    const a = await storedModel();
    const inference = await app.client('inference');
    // NATS permissions: inference may not even publish on the subject.
    await expect(
      sendCommand(inference.nc, {
        command: 'registry.quarantine_model',
        signer: app.pki.signerFor('inference'),
        trust: app.pki.trust,
        request: { model: a.hex, reason: 'not mine to ask' },
        timeoutMs: 1000,
      }),
    ).rejects.toMatchObject({ code: 'COMMAND_TIMEOUT' });
    // Through a connection that may publish, the handler refuses the signer and records it.
    const { reply } = await command(app.admin.nc, 'inference', 'registry.quarantine_model', {
      model: a.hex,
      reason: 'not mine to ask',
    });
    expect(reply).toMatchObject({ ok: false, code: 'TYPE_NOT_AUTHORISED' });
    await waitFor(
      async () =>
        (await app.admin.store.load('service', 'registry')).events.some(
          (e) =>
            e.event.type === 'security.envelope.rejected' &&
            (e.event.data as { code: string }).code === 'TYPE_NOT_AUTHORISED',
        ),
      10_000,
      'security.envelope.rejected',
    );
    expect(await lstat(storePath(a.hex, a.fileName))).toBeTruthy();
    expect((await modelEvents(a.hex)).map((e) => e.event.type)).toEqual(['model.stored']);
  });
});

describe('HTTP gateway', () => {
  const token = (service: string) =>
    issueBearerToken(app.pki.signerFor(service), { audience: 'registry', now: new Date() });
  const get = (url: string, service?: string) =>
    running.http.inject({
      method: 'GET',
      url,
      ...(service ? { headers: { authorization: `Bearer ${token(service)}` } } : {}),
    });

  it('lists and shows models with a token, 401 without, 403 out of scope', async () => {
    const a = await storedModel('http.gguf');
    await running.manifest.caughtUp(await lastSeq(a.hex));
    expect((await get('/health')).json()).toMatchObject({ status: 'ok' });
    expect((await get('/api/v1/models')).statusCode).toBe(401);
    expect((await get('/api/v1/models', 'agent')).statusCode).toBe(403);
    const list = await get('/api/v1/models?status=available', 'ui');
    expect(list.statusCode).toBe(200);
    const models = list.json<{ models: { digest: string; path: string }[] }>().models;
    expect(models.find((m) => m.digest === a.digest)?.path).toBe(storePath(a.hex, 'http.gguf'));
    expect((await get('/api/v1/models?status=nope', 'ui')).json()).toMatchObject({
      status: 400,
      code: 'REQUEST_INVALID',
    });
    for (const name of [a.hex, a.digest]) {
      const one = await get(`/api/v1/models/${name}`, 'inference');
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({ digest: a.digest, status: 'available', runnable: true });
    }
    const bad = await get('/api/v1/models/not-a-digest', 'cli');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.json()).toMatchObject({ code: 'DIGEST_INVALID' });
    expect((await get(`/api/v1/models/${'aa'.repeat(32)}`, 'cli')).json()).toMatchObject({
      status: 404,
      code: 'MODEL_UNKNOWN',
    });
  });

  it('serves what the integrity monitor needs', async () => {
    const a = await storedModel('int.gguf');
    await running.manifest.caughtUp(await lastSeq(a.hex));
    const manifest = await get('/api/v1/integrity/manifest', 'integrity-monitor');
    expect(manifest.statusCode).toBe(200);
    const body = manifest.json<{ storeRoot: string; models: { digest: string }[] }>();
    expect(body.storeRoot).toBe(join(stateDir, 'registry', 'store'));
    expect(body.models.find((m) => m.digest === a.digest)).toEqual({
      digest: a.digest,
      name: 'Tiny Model',
      storePath: `sha256/${a.hex}/int.gguf`,
      path: storePath(a.hex, 'int.gguf'),
      sizeBytes: a.content.length,
      status: 'available',
      lastVerifiedAt: null,
    });
    expect((await get(`/api/v1/models/${a.digest}/integrity`, 'inference')).json()).toEqual({
      digest: a.digest,
      sizeBytes: a.content.length,
      storePath: `sha256/${a.hex}/int.gguf`,
      path: storePath(a.hex, 'int.gguf'),
      status: 'available',
      runnable: true,
    });
  });

  it('verifies synchronously: 200 with the event, 409 problem once tampered', async () => {
    const a = await storedModel('verify.gguf');
    const post = (service?: string) =>
      running.http.inject({
        method: 'POST',
        url: `/api/v1/models/${a.digest}/verify`,
        ...(service ? { headers: { authorization: `Bearer ${token(service)}` } } : {}),
      });
    expect((await post()).statusCode).toBe(401);
    expect((await post('integrity-monitor')).statusCode).toBe(403);
    const ok = await post('cli');
    expect(ok.statusCode).toBe(200);
    const body = ok.json<{ eventId: string }>();
    expect(body).toMatchObject({ status: 'verified', safeToUse: true, actual: a.digest });
    const events = await modelEvents(a.hex);
    expect(events.find((e) => e.event.id === body.eventId)?.event.type).toBe('model.verified');

    const path = storePath(a.hex, 'verify.gguf');
    await chmod(path, 0o644);
    await writeFile(path, Buffer.concat([a.content, Buffer.from('extra')]));
    const failed = await post('ui');
    expect(failed.statusCode).toBe(409);
    expect(failed.json()).toMatchObject({
      code: 'VERIFICATION_FAILED',
      verification: { status: 'failed', problem: 'size_mismatch', safeToUse: false },
    });
    const unknown = await running.http.inject({
      method: 'POST',
      url: `/api/v1/models/${'ab'.repeat(32)}/verify`,
      headers: { authorization: `Bearer ${token('cli')}` },
    });
    expect(unknown.statusCode).toBe(404);
  });
});
