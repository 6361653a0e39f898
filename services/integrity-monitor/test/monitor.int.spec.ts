import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
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
import { EVENTS_STREAM, sendCommand, type LoadedEvent, type NatsConnection } from '@secai/streams';
import {
  startTestAppliance,
  waitFor,
  type ServiceClient,
  type TestAppliance,
} from '@secai/streams/testing';
import { integrityRebaseline, integrityScan, integrityStatus, type CliContext } from '@secai/cli';
import {
  baselineFile,
  loadSettings,
  startIntegrityMonitor,
  type PathClassName,
  type RunningMonitor,
} from '../src/index.js';

const log = pino({ level: 'silent' });
let app: TestAppliance;
let monitorSide: ServiceClient;
let registrySide: ServiceClient;
let cliSide: ServiceClient;
let root: string;
let stateDir: string;
let policyDir: string;
let install: string;
let running: RunningMonitor;

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const digestOf = (data: Buffer | string) => `sha256:${sha(data)}`;

const CONFIG = `version: 1
scan_interval_seconds: 3600
debounce_ms: 50
recovery_threshold: 3
max_reports_per_check: 256
model_grace_seconds: 0.2
classes:
  service_binary:
    severity: critical
    paths: ['\${INSTALL_DIR}/svc/dist']
    exclude: ['\${INSTALL_DIR}/svc/dist/cache']
  policy_file:
    severity: high
    paths: ['\${POLICY_DIR}']
    exclude: []
  systemd_unit:
    severity: high
    paths: ['\${INSTALL_DIR}/units/secai*.service']
    exclude: []
  trust_material:
    severity: critical
    paths: ['\${STATE_DIR}/identity/root/cert.pem', '\${STATE_DIR}/identity/services/*/cert.pem']
    exclude: []
  model_file:
    severity: high
    store: '\${STATE_DIR}/registry/store'
`;

async function file(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  await chmod(path, mode);
}

const vars = () => ({ STATE_DIR: stateDir, INSTALL_DIR: install });

async function startMonitor(watch: boolean): Promise<RunningMonitor> {
  return startIntegrityMonitor(monitorSide, {
    stateDir,
    settings: await loadSettings(policyDir, vars()),
    reloadSettings: () => loadSettings(policyDir, vars()),
    log,
    watch,
  });
}

beforeAll(async () => {
  app = await startTestAppliance();
  monitorSide = await app.client('integrity-monitor');
  registrySide = await app.client('registry');
  cliSide = await app.client('cli');
  root = await mkdtemp(join(tmpdir(), 'secai-integrity-int-'));
  stateDir = join(root, 'state');
  policyDir = join(stateDir, 'policy');
  install = join(root, 'install');
  await file(join(install, 'svc/dist/main.js'), 'console.log("main");\n');
  await file(join(install, 'svc/dist/lib/util.js'), 'export const x = 1;\n');
  await file(join(install, 'svc/dist/cache/ignored.bin'), 'excluded');
  await file(join(install, 'units/secai-a.service'), '[Service]\nExecStart=/bin/true\n');
  await file(join(install, 'units/other.service'), 'not ours');
  await file(join(policyDir, 'policy.yaml'), 'version: 1\n');
  await file(join(policyDir, 'integrity.yaml'), CONFIG);
  await file(join(stateDir, 'identity/root/cert.pem'), '-----BEGIN CERTIFICATE-----\nroot\n');
  await file(join(stateDir, 'identity/services/registry/cert.pem'), 'registry cert');
  await file(join(stateDir, 'identity/services/registry/key.pem'), 'secret', 0o600);
  await mkdir(join(stateDir, 'registry/store/sha256'), { recursive: true, mode: 0o755 });
  running = await startMonitor(true);
});

afterAll(async () => {
  await running?.stop();
  await app?.cleanup();
  if (root) {
    // The model store holds read-only directories (0555): open them up before removing.
    execFileSync('chmod', ['-R', 'u+w', root]);
    await rm(root, { recursive: true, force: true });
  }
});

async function classEvents(c: PathClassName): Promise<LoadedEvent[]> {
  return (await app.admin.store.load('integrity', c)).events;
}

async function violations(c: PathClassName, path?: string) {
  return (await classEvents(c))
    .filter((e) => e.event.type === 'integrity.violation.detected')
    .map((e) => e.event.data as EventData<'integrity.violation.detected'>)
    .filter((d) => path === undefined || d.path === path);
}

async function waitForViolation(
  c: PathClassName,
  match: (d: EventData<'integrity.violation.detected'>) => boolean,
  what: string,
) {
  let found: EventData<'integrity.violation.detected'> | undefined;
  await waitFor(
    async () => {
      found = (await violations(c)).find(match);
      return found !== undefined;
    },
    15_000,
    what,
  );
  return found!;
}

/** Sends a command signed as `signerOf` through `nc` and returns the verified reply. */
async function command<C extends CommandType>(
  nc: NatsConnection,
  signerOf: string,
  name: C,
  request: CommandRequest<C>,
): Promise<CommandReply<C>> {
  const def = COMMANDS[name];
  const { document, bytes } = signCommand(name, 'request', request, app.pki.signerFor(signerOf), {
    now: new Date(),
  });
  const response = await nc.request(commandSubject(def.handler, def.name), bytes, {
    timeout: 30_000,
  });
  return verifyCommand(response.data, app.pki.trust, {
    command: name,
    direction: 'reply',
    inReplyTo: document.id,
  }).document.data as CommandReply<C>;
}

function cliContext(): CliContext {
  return {
    nc: cliSide.nc,
    js: cliSide.js,
    jsm: cliSide.jsm,
    trust: cliSide.store.trust as CliContext['trust'],
    signer: app.pki.signerFor('cli'),
    stream: EVENTS_STREAM,
    httpPorts: {},
    close: () => Promise.resolve(),
  };
}

const mainJs = () => join(install, 'svc/dist/main.js');

describe('baseline', () => {
  it('records a signed baseline per class on first boot, its entries stored under their digest', async () => {
    expect(running.firstScan).toMatchObject({ trigger: 'startup', violations: 0, state: 'ok' });
    const expectedCounts: Record<string, number> = {
      // dist, dist/main.js, dist/lib, dist/lib/util.js (dist/cache excluded)
      service_binary: 4,
      // the directory, policy.yaml, integrity.yaml
      policy_file: 3,
      systemd_unit: 1,
      trust_material: 2,
    };
    for (const [c, count] of Object.entries(expectedCounts)) {
      const events = await classEvents(c as PathClassName);
      expect(events.map((e) => e.event.type)).toEqual(['integrity.baseline.created']);
      const data = events[0]!.event.data as EventData<'integrity.baseline.created'>;
      expect(events[0]!.event.source).toBe('secai://integrity-monitor');
      expect(data).toMatchObject({ pathClass: c, entryCount: count, releaseVerified: false });
      const path = running.monitor.baselineFileOf(c as 'service_binary');
      expect(path).toBe(baselineFile(stateDir, c as PathClassName, data.entriesDigest));
    }
    // Private keys are not trust material here: neither listed nor hashed.
    expect(await classEvents('model_file')).toEqual([]);
    const status = running.monitor.status();
    expect(status.state).toBe('ok');
    expect(status.classes.service_binary.baseline).toMatchObject({ entryCount: 4, intact: true });
    expect(status.watchedDirectories).toBeGreaterThan(0);
  });
});

describe('violations', () => {
  it('reports a tampered file through a file-system notification, without a scan', async () => {
    const scans = running.monitor.status().scanCount;
    const before = `sha256:${sha('console.log("main");\n')}`;
    await writeFile(mainJs(), 'console.log("tampered");\n');
    const v = await waitForViolation(
      'service_binary',
      (d) => d.path === mainJs() && d.kind === 'modified',
      'modified main.js',
    );
    expect(v).toEqual({
      pathClass: 'service_binary',
      path: mainJs(),
      kind: 'modified',
      expected: before,
      actual: digestOf('console.log("tampered");\n'),
      severity: 'critical',
    });
    expect(running.monitor.status().scanCount).toBe(scans);
    expect(running.monitor.status().checkCount).toBeGreaterThan(0);
    const changed = (await classEvents('service_binary')).find(
      (e) => e.event.type === 'integrity.state.changed',
    );
    expect(changed?.event.data).toEqual({
      pathClass: 'service_binary',
      from: 'ok',
      to: 'degraded',
      violationCount: 1,
    });
  });

  it('reports a permission change as mode', async () => {
    const util = join(install, 'svc/dist/lib/util.js');
    await chmod(util, 0o666);
    const v = await waitForViolation('service_binary', (d) => d.path === util, 'mode');
    expect(v).toMatchObject({ kind: 'mode', expected: '0644', actual: '0666' });
  });

  it('reports a symlink swapped in for a file as link', async () => {
    const policy = join(policyDir, 'policy.yaml');
    await symlink('/etc/hostname', `${policy}.new`);
    await rename(`${policy}.new`, policy);
    const v = await waitForViolation('policy_file', (d) => d.path === policy, 'link');
    expect(v).toMatchObject({
      kind: 'link',
      expected: digestOf('version: 1\n'),
      actual: '/etc/hostname',
      severity: 'high',
    });
  });

  it('reports a deletion and an addition (a new file matching a pattern)', async () => {
    const a = join(install, 'units/secai-a.service');
    const b = join(install, 'units/secai-b.service');
    await unlink(a);
    await file(b, '[Service]\nExecStart=/bin/false\n');
    await file(join(install, 'units/unrelated.service'), 'ignored');
    const deleted = await waitForViolation('systemd_unit', (d) => d.path === a, 'deleted');
    expect(deleted).toMatchObject({ kind: 'deleted', actual: null });
    const added = await waitForViolation('systemd_unit', (d) => d.path === b, 'added');
    expect(added).toMatchObject({
      kind: 'added',
      expected: null,
      actual: digestOf('[Service]\nExecStart=/bin/false\n'),
    });
    expect(await violations('systemd_unit', join(install, 'units/unrelated.service'))).toEqual([]);
  });

  it('ignores changes below an excluded path', async () => {
    await writeFile(join(install, 'svc/dist/cache/ignored.bin'), 'changed');
    await running.monitor.scan('request');
    expect((await violations('service_binary')).filter((d) => d.path.includes('/cache'))).toEqual(
      [],
    );
  });

  it('does not report an unchanged violation again; a new change of the same file is new', async () => {
    await running.monitor.scan('request');
    await running.monitor.scan('request');
    expect(await violations('service_binary', mainJs())).toHaveLength(1);
    await writeFile(mainJs(), 'console.log("tampered again");\n');
    await waitFor(
      async () => (await violations('service_binary', mainJs())).length === 2,
      15_000,
      'second report',
    );
    const [, second] = await violations('service_binary', mainJs());
    expect(second?.actual).toBe(digestOf('console.log("tampered again");\n'));
    await running.monitor.scan('request');
    expect(await violations('service_binary', mainJs())).toHaveLength(2);
  });

  it('needs recovery at the threshold and stays there (latched)', async () => {
    await file(join(install, 'svc/dist/extra.js'), 'added');
    await waitFor(
      async () =>
        (await classEvents('service_binary')).some(
          (e) =>
            e.event.type === 'integrity.state.changed' &&
            (e.event.data as EventData<'integrity.state.changed'>).to === 'recovery_required',
        ),
      15_000,
      'recovery_required',
    );
    // Undoing the changes does not clear it: only the operator ceremony does.
    await unlink(join(install, 'svc/dist/extra.js'));
    await chmod(join(install, 'svc/dist/lib/util.js'), 0o644);
    const summary = await running.monitor.scan('request');
    expect(running.monitor.status().classes.service_binary).toMatchObject({
      state: 'recovery_required',
      violationCount: 1,
    });
    expect(summary.state).toBe('recovery_required');
  });
});

describe('model store', () => {
  const store = () => join(stateDir, 'registry/store');

  it('reports an unregistered file in the model store', async () => {
    const hex = sha(randomBytes(16));
    const dir = join(store(), 'sha256', hex);
    await file(join(dir, 'stray.gguf'), randomBytes(1024), 0o444);
    const v = await waitForViolation('model_file', (d) => d.path === dir, 'unregistered');
    expect(v).toMatchObject({
      kind: 'added',
      expected: null,
      actual: 'directory',
      severity: 'high',
    });
    await chmod(dir, 0o755);
    await rm(dir, { recursive: true });
  });

  it('reports a model whose bytes differ from its model.stored digest, not a matching one', async () => {
    const stored = async (bytes: Buffer, onDisk: Buffer, name: string) => {
      const hex = sha(bytes);
      const dir = join(store(), 'sha256', hex);
      await file(join(dir, name), onDisk, 0o444);
      await chmod(dir, 0o555);
      await registrySide.store.append(
        [
          {
            type: 'model.stored',
            aggregateId: hex,
            data: {
              name,
              format: 'gguf',
              sizeBytes: bytes.length,
              digest: `sha256:${hex}`,
              storePath: `sha256/${hex}/${name}`,
              fromArtifact: hex,
            },
          },
        ],
        { expectedSequence: 0 },
      );
      return join(dir, name);
    };
    const good = randomBytes(4096);
    const goodPath = await stored(good, good, 'good.gguf');
    const expected = randomBytes(4096);
    const actual = randomBytes(4096);
    const badPath = await stored(expected, actual, 'bad.gguf');
    await running.monitor.scan('request');
    const v = await waitForViolation('model_file', (d) => d.path === badPath, 'model mismatch');
    expect(v).toMatchObject({
      kind: 'modified',
      expected: digestOf(expected),
      actual: digestOf(actual),
    });
    await running.monitor.scan('request');
    expect(await violations('model_file', goodPath)).toEqual([]);
    expect(await violations('model_file', badPath)).toHaveLength(1);
  });
});

describe('permissions', () => {
  const token = (service: string) =>
    issueBearerToken(app.pki.signerFor(service), {
      audience: 'integrity-monitor',
      now: new Date(),
    });
  const call = (method: 'GET' | 'POST', url: string, service?: string) =>
    running.http.inject({
      method,
      url,
      ...(service ? { headers: { authorization: `Bearer ${token(service)}` } } : {}),
    });

  it('refuses a ui caller on the rebaseline command, on the bus and in the handler', async () => {
    const ui = await app.client('ui');
    await expect(
      sendCommand(ui.nc, {
        command: 'integrity-monitor.rebaseline',
        signer: app.pki.signerFor('ui'),
        trust: app.pki.trust,
        request: { reason: 'not mine', operator: 'mallory' },
        timeoutMs: 1000,
      }),
    ).rejects.toMatchObject({ code: 'COMMAND_TIMEOUT' });
    const reply = await command(app.admin.nc, 'ui', 'integrity-monitor.rebaseline', {
      reason: 'not mine',
      operator: 'mallory',
    });
    expect(reply).toMatchObject({ ok: false, code: 'TYPE_NOT_AUTHORISED' });
    await waitFor(
      async () =>
        (await app.admin.store.load('service', 'integrity-monitor')).events.some(
          (e) =>
            e.event.type === 'security.envelope.rejected' &&
            (e.event.data as { code: string }).code === 'TYPE_NOT_AUTHORISED',
        ),
      10_000,
      'security.envelope.rejected',
    );
    expect((await classEvents('service_binary')).map((e) => e.event.type)).not.toContain(
      'integrity.rebaselined',
    );
  });

  it('serves health publicly, status and violations with a token, scans for cli only', async () => {
    expect((await call('GET', '/health')).json()).toMatchObject({ status: 'ok' });
    expect((await call('GET', '/api/v1/status')).statusCode).toBe(401);
    expect((await call('GET', '/api/v1/status', 'agent')).statusCode).toBe(403);
    const status = await call('GET', '/api/v1/status', 'ui');
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ state: 'recovery_required' });
    const open = await call(
      'GET',
      '/api/v1/violations?pathClass=service_binary',
      'incident-recorder',
    );
    expect(open.json<{ violations: { path: string }[] }>().violations.map((v) => v.path)).toContain(
      mainJs(),
    );
    expect((await call('GET', '/api/v1/violations?pathClass=nope', 'cli')).statusCode).toBe(400);
    expect((await call('POST', '/api/v1/scan', 'ui')).statusCode).toBe(403);
    const scan = await call('POST', '/api/v1/scan', 'cli');
    expect(scan.statusCode).toBe(200);
    expect(scan.json()).toMatchObject({ trigger: 'request', scope: 'full' });
  });
});

describe('operator ceremony (secai integrity ...)', () => {
  it('status shows every class; scan exits 1 while violations are open', async () => {
    const lines: string[] = [];
    await integrityStatus(cliContext(), { json: true }, (l) => lines.push(l));
    const view = JSON.parse(lines[0]!) as {
      state: string;
      classes: { pathClass: string; state: string }[];
    };
    expect(view.state).toBe('recovery_required');
    expect(view.classes.find((c) => c.pathClass === 'systemd_unit')?.state).toBe('degraded');
    await expect(
      integrityScan(cliContext(), { reason: 'test' }, () => undefined),
    ).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
  });

  it('rebaseline accepts the differences, names them, and they are no longer reported', async () => {
    const printed: string[] = [];
    const { reply, accepted } = await integrityRebaseline(
      cliContext(),
      { reason: 'deployed build 42', operator: 'alice' },
      (l) => printed.push(l),
    );
    expect(reply).toMatchObject({ ok: true });
    const byClass = new Map(accepted.map((r) => [r.pathClass, r]));
    expect([...byClass.keys()].sort()).toEqual(['policy_file', 'service_binary', 'systemd_unit']);
    expect(byClass.get('service_binary')).toMatchObject({
      operator: 'alice',
      reason: 'deployed build 42',
      acceptedCount: 1,
      accepted: [{ path: mainJs(), kind: 'modified' }],
    });
    expect(
      byClass
        .get('systemd_unit')
        ?.accepted.map((d) => d.kind)
        .sort(),
    ).toEqual(['added', 'deleted']);
    expect(printed.join('\n')).toContain(mainJs());
    for (const c of ['service_binary', 'policy_file', 'systemd_unit'] as const)
      expect(running.monitor.status().classes[c].state).toBe('ok');
    const before = (await violations('service_binary')).length;
    const summary = await running.monitor.scan('request');
    expect((await violations('service_binary')).length).toBe(before);
    expect(summary.violations).toBe(running.monitor.status().classes.model_file.violationCount);
    // Nothing left to accept (the model store is the registry's: not accepted by a rebaseline).
    const again = await integrityRebaseline(
      cliContext(),
      { reason: 'again', operator: 'alice' },
      () => undefined,
    );
    expect(again.reply).toMatchObject({ ok: false, code: 'nothing_to_accept' });
  });
});

describe('restart', () => {
  it('does not report again after a restart; a scan alone (no watches) finds a new change', async () => {
    await running.stop();
    const counts = async () =>
      Object.fromEntries(
        await Promise.all(
          (['service_binary', 'policy_file', 'model_file'] as const).map(
            async (c) => [c, (await violations(c)).length] as const,
          ),
        ),
      );
    const before = await counts();
    running = await startMonitor(false);
    expect(await counts()).toEqual(before);
    expect(running.monitor.status().watchedDirectories).toBe(0);
    await writeFile(join(install, 'svc/dist/lib/util.js'), 'export const x = 2;\n');
    const reply = await command(cliSide.nc, 'cli', 'integrity-monitor.scan', { reason: 'test' });
    expect(reply).toMatchObject({ ok: true });
    expect(
      (await violations('service_binary', join(install, 'svc/dist/lib/util.js'))).at(-1),
    ).toMatchObject({
      kind: 'modified',
      actual: digestOf('export const x = 2;\n'),
    });
  });

  it('refuses a stored baseline that no longer matches its signed digest', async () => {
    await running.stop();
    const path = running.monitor.baselineFileOf('trust_material')!;
    await writeFile(path, '{"version":1,"pathClass":"trust_material","entries":[]}\n');
    running = await startMonitor(false);
    const v = await waitForViolation('trust_material', (d) => d.path === path, 'baseline tamper');
    expect(v).toMatchObject({ kind: 'modified', severity: 'critical' });
    expect(running.monitor.status().classes.trust_material).toMatchObject({
      state: 'recovery_required',
      baseline: { intact: false },
    });
  });
});
