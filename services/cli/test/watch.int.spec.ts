import { execFile, execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTrustBundle, signEvent } from '@secai/contracts';
import { EVENTS_STREAM, KV_BUCKETS, TYPE_HEADER, headers } from '@secai/streams';
import { GENESIS_HEAD, chainLink } from '@secai/projections';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { BIN } from './harness.js';

// `secai watch` as a person runs it: the built CLI in a real terminal (tmux, 160x50) against a
// real nats-server with the appliance's identities, connected as the read-only `dashboard`. The
// test publishes as real service identities and reads the screen back with capture-pane; it
// waits for what it expects to appear (never for a time).

let app: TestAppliance;
let registry: ServiceClient;
let stateDir: string;
/** A tmux server of this test file only (`-L`), so nothing touches the user's sessions. */
const SOCKET = `secai-watch-${process.pid}`;
const SESSION = 'watch';

function tmux(...args: string[]): string {
  // Its socket in the test's temp dir, removed with it (not left in /tmp/tmux-<uid>).
  return execFileSync('tmux', ['-L', SOCKET, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TMUX_TMPDIR: stateDir },
  });
}

function screen(): string {
  try {
    return tmux('capture-pane', '-p', '-t', SESSION);
  } catch {
    return '';
  }
}

async function waitForScreen(what: string, test: (text: string) => boolean): Promise<string> {
  let last = '';
  try {
    await waitFor(
      () => {
        last = screen();
        return test(last);
      },
      60_000,
      what,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- screen ---\n${last}`);
  }
  return last;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) =>
      done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** A `service.started` signed by `service` (the pid makes each one recognisable). */
function started(service: string, pid: number) {
  return signEvent(
    {
      type: 'service.started',
      aggregateId: service,
      data: {
        service: service as never,
        version: '9.9.9',
        pid,
        configDigest: `sha256:${'a'.repeat(64)}`,
      },
    },
    app.pki.signerFor(service),
    { now: new Date() },
  );
}

beforeAll(async () => {
  execFileSync('tmux', ['-V']); // fails the file with a clear error when tmux is not installed
  app = await startTestAppliance();
  // The test server's temp dir already holds every identity's NATS seed (nats/users/*.nk);
  // add what `secai boot` leaves beside them: the pinned root, the trust bundle, runtime.json.
  stateDir = app.nats.dir;
  await mkdir(join(stateDir, 'identity', 'root'), { recursive: true });
  await writeFile(join(stateDir, 'identity', 'root', 'cert.pem'), app.pki.root.certificatePem);
  await saveTrustBundle(stateDir, app.pki.bundle);
  await writeFile(
    join(stateDir, 'run', 'runtime.json'),
    JSON.stringify({
      pid: process.pid,
      natsUrl: app.nats.url,
      startedAt: new Date().toISOString(),
      stateDir,
    }),
  );
  registry = await app.client('registry');
  // Something in the history before the watch starts (shown once `dashboard` may read it).
  await registry.store.appendServiceEvent({
    type: 'service.started',
    aggregateId: 'registry',
    data: {
      service: 'registry',
      version: '1.0.0',
      pid: 4242,
      configDigest: `sha256:${'b'.repeat(64)}`,
    },
  });
  // And a seal over it from the incident recorder, with the head of the stored chain.
  const stored = await app.admin.jsm.streams.getMessage(EVENTS_STREAM, { seq: 1 });
  const recorder = await app.client('incident-recorder');
  await recorder.store.append(
    [
      {
        type: 'audit.checkpoint.sealed',
        aggregateId: 'chain',
        data: {
          fromSeq: 1,
          toSeq: 1,
          count: 1,
          head: chainLink(GENESIS_HEAD, 1, stored!.data),
          previousHead: GENESIS_HEAD,
        },
      },
    ],
    { expectedSequence: 'any' },
  );
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // Already gone.
  }
  await app?.cleanup();
});

describe('secai watch', () => {
  it('--once prints one plain frame (no escape sequences) with the overview', async () => {
    const r = await run(['watch', '--once', '--state-dir', stateDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SERVICES');
    expect(r.stdout).toContain('Attestation:');
    expect(r.stdout).toContain('EVENTS (live, newest last)');
    expect(r.stdout).not.toContain('\x1b');
  });

  it('says NOT_RUNNING (exit 2) for a state dir with no appliance, and starts no screen', async () => {
    const r = await run(['watch', '--state-dir', join(stateDir, 'no-such-dir')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^secai: NOT_RUNNING: .*the directory does not exist/);
    expect(r.stdout).toBe('');
  });

  it('under tmux: the services and the checked seal, a new signed event, a forged one as REFUSED, a resize, a reconnect; q quits', async () => {
    const command = `'${process.execPath}' '${BIN}' watch --state-dir '${stateDir}'; echo "watch exited $?"; sleep 600`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '160', '-y', '50', command);

    await waitForScreen(
      'the services table',
      (s) => s.includes('SERVICES') && /^registry\s/m.test(s),
    );
    // The history (readable by the dashboard identity) is in, the seal checked against it.
    const first = await waitForScreen('the history read', (s) => /history: 2 events read/.test(s));
    expect(first).toMatch(/^registry\s+running\s+4242\s/m);
    // It reads with pull consumers only: a push consumer of `dashboard` (a KV watch, say) is
    // what the appliance's consumer warden removes and reports as a bus violation.
    for (const stream of [EVENTS_STREAM, `KV_${KV_BUCKETS.trust}`])
      for await (const c of app.admin.jsm.consumers.list(stream))
        expect(c.config.deliver_subject, `${stream} ${c.name}`).toBeUndefined();
    expect(first).toMatch(/Last seal: +seq 1-1 \(1 events\), head [0-9a-f]{16}…, .*chain verified/);

    // A new event, signed and published by the registry's own identity.
    const fresh = started('registry', 51_515);
    const h = headers();
    h.set(TYPE_HEADER, 'service.started');
    await registry.js.publish('secai.evt.service.registry', fresh.bytes, { headers: h });
    const afterEvent = await waitForScreen(
      'the new event in the pane and registry running',
      (s) =>
        /^registry\s+running\s+51515\s/m.test(s) &&
        /VERIFIED\s+service\.started\s+service\/registry\s+registry/.test(s),
    );
    expect(afterEvent).toMatch(/VERIFIED\s+service\.started/);

    // A forged one on the same subject, sent as the registry's NATS user (so the server lets
    // it through): the signed payload altered, the signature kept.
    const forged = started('registry', 61_616);
    const envelope = JSON.parse(new TextDecoder().decode(forged.bytes)) as { payload: string };
    const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
      data: { pid: number };
    };
    payload.data.pid = 1;
    envelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    await registry.js.publish('secai.evt.service.registry', JSON.stringify(envelope), {
      headers: h,
    });
    const afterForgery = await waitForScreen('the forged envelope as REFUSED', (s) =>
      s.includes('REFUSED SIGNATURE_INVALID'),
    );
    // What it claims changes nothing: the registry still shows the last verified pid.
    expect(afterForgery).toMatch(/^registry\s+running\s+51515\s/m);
    expect(afterForgery).not.toMatch(/^registry\s+running\s+1\s/m);
    expect(afterForgery).toMatch(/1 REFUSED/);

    // A narrower terminal: redrawn at once with the panels stacked under the services.
    tmux('resize-window', '-t', SESSION, '-x', '100', '-y', '45');
    await waitForScreen('the stacked layout after the resize', (s) =>
      /^OPEN INCIDENTS \(0\)/m.test(s),
    );

    // The bus goes away and comes back: the header says so, and the history is read again, so
    // the live lines of before now carry their stream sequences (the forged one too).
    await app.nats.server.stop();
    await waitForScreen('RECONNECTING in the header', (s) => s.includes('RECONNECTING'));
    await app.nats.restart();
    await waitForScreen(
      'the history read again after the reconnect',
      (s) =>
        /^\d\d:\d\d:\d\d\s+\d+\s+REFUSED SIGNATURE_INVALID/m.test(s) && s.includes(' CONNECTED '),
    );

    tmux('send-keys', '-t', SESSION, 'q');
    const after = await waitForScreen('the watch to quit', (s) => s.includes('watch exited'));
    expect(after).toContain('watch exited 0');
    // The alternate screen is left: the frame is gone from the main screen.
    expect(after).not.toContain('SERVICES');
  }, 300_000); // several waits for the screen, each bounded; generous for a loaded machine
});
