import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers as natsHeaders, readHistory, TrustCache, TYPE_HEADER } from '@secai/streams';
import { startTestAppliance, type ServiceClient, type TestAppliance } from '@secai/streams/testing';
import type { HistoryReport } from '@secai/projections';
import { exportCommand } from '../src/commands/export.js';
import { tail } from '../src/commands/tail.js';
import { verifyBundleFile, verifyStream } from '../src/commands/verify.js';
import type { CliContext } from '../src/context.js';
import { CliError } from '../src/errors.js';
import { BIN } from './harness.js';

// Issue 10 §2 and §5: what a service's own credentials let it put on the bus to break forensics.
// The attacker is `registry`: it publishes raw bytes on its own subject, secai.evt.service.registry.

const OWN_SUBJECT = 'secai.evt.service.registry';
let app: TestAppliance;
let dir: string;
let ctx: CliContext;
let registry: ServiceClient;
/** Stream sequences of what was stored, by name. */
const at = {
  monitorGenuine: 0,
  registryGenuine: 0,
  empty: 0,
  newline: 0,
  replayedOnOtherSubject: 0,
  ownReplay: 0,
  last: 0,
};

async function bytesAt(seq: number): Promise<Uint8Array> {
  for await (const e of readHistory(ctx.js, ctx.jsm, ctx.stream, { fromSeq: seq, toSeq: seq }))
    return e.bytes;
  throw new Error(`nothing stored at seq ${seq}`);
}

/** Publishes as the attacker, with the type header a genuine append would carry (or none). */
async function forge(bytes: Uint8Array, type?: string): Promise<number> {
  const h = natsHeaders();
  if (type) h.set(TYPE_HEADER, type);
  const ack = await registry.js.publish(OWN_SUBJECT, bytes, { headers: h });
  return ack.seq;
}

beforeAll(async () => {
  app = await startTestAppliance();
  dir = await mkdtemp(join(tmpdir(), 'secai-forensics-'));
  const cli = await app.client('cli');
  ctx = {
    nc: cli.nc,
    js: cli.js,
    jsm: cli.jsm,
    trust: TrustCache.fixed(app.pki.trust),
    signer: app.pki.signerFor('cli'),
    stream: cli.store.stream,
    httpPorts: {},
    close: async () => {},
  };
  registry = await app.client('registry');
  const monitor = await app.client('integrity-monitor');
  const started = (service: string) => ({
    type: 'service.started' as const,
    aggregateId: service,
    data: {
      service: service as 'registry',
      version: '0.0.0',
      pid: 1,
      configDigest: `sha256:${'a'.repeat(64)}`,
    },
  });
  at.monitorGenuine = (
    await monitor.store.appendServiceEvent(started('integrity-monitor'))
  ).lastSequence;
  at.registryGenuine = (await registry.store.appendServiceEvent(started('registry'))).lastSequence;

  at.empty = await forge(new Uint8Array(0));
  at.newline = await forge(Buffer.from('{"payloadType":\n"forged"}'));
  // Another service's genuine envelope, replayed onto a subject of the attacker's.
  at.replayedOnOtherSubject = await forge(await bytesAt(at.monitorGenuine), 'service.started');
  // The attacker's own earlier envelope, stored again: same bytes, same event id, same subject.
  at.ownReplay = await forge(await bytesAt(at.registryGenuine), 'service.started');
  at.last = (await registry.store.appendServiceEvent(started('registry'))).lastSequence;
});

afterAll(async () => {
  await app?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs a command that reports through `out` and may throw VERIFICATION_FAILED. */
async function reportOf(
  run: (out: (line: string) => void) => Promise<void>,
): Promise<{ report: HistoryReport; error: unknown }> {
  const lines: string[] = [];
  let error: unknown = null;
  try {
    await run((l) => lines.push(l));
  } catch (err) {
    error = err;
  }
  const json = lines.find((l) => l.startsWith('{'));
  if (!json) throw new Error(`no JSON report: ${lines.join('\n')} ${String(error)}`);
  return { report: JSON.parse(json) as HistoryReport, error };
}

const failuresOf = (report: HistoryReport) =>
  report.failures.map(({ seq, code }) => ({ seq, code }));

describe('forged envelopes in an exported bundle', () => {
  it('exports a range holding an empty and a multi-line envelope, and the verifier shows them refused by sequence', async () => {
    const out = join(dir, 'all.jsonl');
    const lines: string[] = [];
    await exportCommand(
      ctx,
      { out, seal: false, json: true },
      (l) => lines.push(l),
      () => undefined,
    );
    const text = await readFile(out, 'utf8');
    // Every entry is one line, whatever bytes it holds.
    expect(text.trimEnd().split('\n')).toHaveLength(1 + at.last);

    const { report, error } = await reportOf((o) =>
      verifyBundleFile(out, { json: true, expectRoot: app.pki.trust.rootKeyid }, o),
    );
    expect(error).toBeInstanceOf(CliError);
    expect(failuresOf(report)).toEqual([
      { seq: at.empty, code: 'ENVELOPE_MALFORMED' },
      { seq: at.newline, code: 'ENVELOPE_MALFORMED' },
      { seq: at.replayedOnOtherSubject, code: 'SUBJECT_MISMATCH' },
      { seq: at.ownReplay, code: 'EVENT_ID_DUPLICATE' },
    ]);
    expect(report.lastSeq).toBe(at.last);
  });
});

describe('events verify --signatures over the stream', () => {
  it('applies the live consumers’ subject check and flags a repeated event id', async () => {
    const { report, error } = await reportOf((o) =>
      verifyStream(ctx, { signatures: true, json: true }, o),
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(1);
    expect(failuresOf(report)).toEqual([
      { seq: at.empty, code: 'ENVELOPE_MALFORMED' },
      { seq: at.newline, code: 'ENVELOPE_MALFORMED' },
      { seq: at.replayedOnOtherSubject, code: 'SUBJECT_MISMATCH' },
      { seq: at.ownReplay, code: 'EVENT_ID_DUPLICATE' },
    ]);
    const duplicate = report.failures.find((f) => f.code === 'EVENT_ID_DUPLICATE');
    expect(duplicate?.message).toContain(`seq ${at.registryGenuine}`);
  });
});

describe('events tail', () => {
  it('marks an event whose id repeats an earlier one, naming where it was first seen', async () => {
    const rows: { seq: number; verified: boolean; duplicateOf?: number }[] = [];
    await tail(ctx, { limit: 100, json: true }, (l) => rows.push(JSON.parse(l) as never));
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    expect(bySeq.get(at.ownReplay)).toMatchObject({
      verified: true,
      duplicateOf: at.registryGenuine,
    });
    expect(bySeq.get(at.registryGenuine)?.duplicateOf).toBeUndefined();
    expect(bySeq.get(at.last)?.duplicateOf).toBeUndefined();

    const human: string[] = [];
    await tail(ctx, { limit: 100 }, (l) => human.push(...l.split('\n')));
    const line = human.find((l) => l.trimStart().startsWith(`${at.ownReplay} `));
    expect(line).toContain(`EVENT_ID_DUPLICATE of seq ${at.registryGenuine}`);
  });

  it('marks the repeat even when the original is older than the lines shown', async () => {
    const rows: { seq: number; duplicateOf?: number }[] = [];
    const limit = at.last - at.ownReplay + 1;
    await tail(ctx, { limit, json: true }, (l) => rows.push(JSON.parse(l) as never));
    expect(rows.map((r) => r.seq)).not.toContain(at.registryGenuine);
    expect(rows.find((r) => r.seq === at.ownReplay)?.duplicateOf).toBe(at.registryGenuine);
  });
});

describe('events verify --bundle on something that is not a regular file', () => {
  it('refuses a FIFO before reading from it, with a clear error and a non-zero exit', async () => {
    const fifo = join(dir, 'bundle.fifo');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status, 'mkfifo (coreutils) is needed for this test').toBe(0);
    // Nothing ever writes to the FIFO: a CLI that opens it for reading would wait forever, so
    // the guard below kills it (that is the failure this test catches), it is not a time limit.
    const run = await new Promise<{ code: number | null; stderr: string; killed: boolean }>(
      (done) => {
        const child = execFile(
          process.execPath,
          [BIN, 'events', 'verify', '--bundle', fifo, '--state-dir', dir],
          { timeout: 30_000, killSignal: 'SIGKILL' },
          (err, _stdout, stderr) =>
            done({ code: child.exitCode, stderr, killed: err?.killed === true }),
        );
      },
    );
    expect(run.killed, 'secai events verify --bundle hung on a FIFO').toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/not a regular file/);
  });
});
