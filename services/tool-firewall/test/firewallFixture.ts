import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  issueBearerToken,
  verifyEnvelope,
  type CloudEvent,
  type DecisionRequestData,
  type DecisionResponseData,
} from '@secai/contracts';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  groupCommitRecorder,
  serveCommands,
} from '@secai/policy-engine';
import { SigningPool, readHistory, sendCommand, type Subscription } from '@secai/streams';
import { startTestAppliance, type TestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_ADAPTER_LIMITS,
  startToolFirewall,
  type ResolverHooks,
  type RunningToolFirewall,
} from '../src/index.js';

// A real slice of the appliance for the firewall's int tests: nats-server, the real policy
// engine (its shipped policy, decide and reload on the bus, decisions group-committed as the
// service records them), the firewall on a random loopback
// port over a real workspace in a temp dir, and a directory outside the workspace holding what
// no call may ever read.

export const log = pino({ level: process.env.SECAI_TEST_LOG ?? 'silent' });

/** The output limit of the fixture (small, so a "huge" file is a few hundred KiB). */
export const MAX_OUTPUT = 64 * 1024;

export interface FirewallFixture {
  app: TestAppliance;
  dir: string;
  /** The workspace root on disk (`/vault`). */
  root: string;
  /** A directory outside the workspace. */
  outside: string;
  firewall: RunningToolFirewall;
  policy: PolicyHost;
  baseUrl: string;
  /** The rate limiter's clock (ms): tests move it. */
  clock: { now: number };
  /** Hooks the resolver calls (tests set them; each test resets them). */
  hooks: ResolverHooks;
  tokenOf(service: string): string;
  /** Loads the shipped policy into the engine (recorded as `policy.loaded`). */
  loadPolicy(): Promise<void>;
  /** Asks the engine directly, as the CLI would. */
  askEngine(request: DecisionRequestData): Promise<DecisionResponseData>;
  /** Records an API key as inference does; resolves when the firewall knows it. */
  createKey(name: string): Promise<string>;
  revokeKey(name: string): Promise<void>;
  /** Every stored entry: its raw bytes and its verified event. */
  history(): Promise<{ bytes: Uint8Array; payload: string; event: CloudEvent }[]>;
  stop(): Promise<void>;
}

export async function startFirewallFixture(): Promise<FirewallFixture> {
  const app = await startTestAppliance();
  const dir = await mkdtemp(join(tmpdir(), 'secai-tool-firewall-int-'));
  const policyDir = join(dir, 'policy');
  await cp(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
  const engineSide = await app.client('policy-engine');
  const engine = new PolicyEngine();
  const policy = new PolicyHost(engine, engineSide.store, policyDir, log);
  // As the engine runs: group commit, signed on a worker thread (a decision id may be
  // `<event id>#<i>`, a member of a group).
  const signing = await SigningPool.create(app.pki.identities.get('policy-engine')!);
  const subs: Subscription[] = serveCommands(engineSide.nc, {
    engine,
    host: policy,
    recorder: groupCommitRecorder(engineSide.js, signing),
    signer: engineSide.store.signer,
    trust: engineSide.store.trust,
    log,
  });
  const root = join(dir, 'vault');
  const outside = join(dir, 'outside');
  await mkdir(outside, { recursive: true });
  const clock = { now: 0 };
  const hooks: ResolverHooks = {};
  const firewall = await startToolFirewall(await app.client('tool-firewall'), {
    workspace: root,
    log,
    limits: { ...DEFAULT_ADAPTER_LIMITS, maxOutputBytes: MAX_OUTPUT },
    now: () => clock.now,
    hooks: {
      beforeOpen: (p) => hooks.beforeOpen?.(p),
      afterOpen: (p) => hooks.afterOpen?.(p),
    },
  });
  const baseUrl = await firewall.http.listen({ host: '127.0.0.1', port: 0 });
  const cli = await app.client('cli');
  const inference = await app.client('inference');

  return {
    app,
    dir,
    root,
    outside,
    firewall,
    policy,
    baseUrl,
    clock,
    hooks,
    tokenOf: (service) =>
      issueBearerToken(app.pki.signerFor(service), { audience: 'tool-firewall', now: new Date() }),
    async loadPolicy() {
      const loaded = await policy.reload('startup');
      if (!loaded.ok) throw new Error(`the shipped policy was refused: ${JSON.stringify(loaded)}`);
    },
    async askEngine(request) {
      const reply = await sendCommand(cli.nc, {
        command: 'policy-engine.decide',
        signer: cli.store.signer,
        trust: cli.store.trust,
        request,
      });
      if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
      return reply.result;
    },
    async createKey(name) {
      const key = `sk-secai-${name}-${createHash('sha256').update(name).digest('base64url')}`;
      const result = await inference.store.append(
        [
          {
            type: 'inference.key.created',
            aggregateId: name,
            data: {
              name,
              keyDigest: `sha256:${createHash('sha256').update(key).digest('hex')}`,
              hint: key.slice(9, 17).replace(/[^A-Za-z0-9_-]/g, 'x'),
              createdBy: 'int test',
            },
          },
        ],
        { expectedSequence: 0 },
      );
      await firewall.view.caughtUp(result.lastSequence);
      return key;
    },
    async revokeKey(name) {
      const result = await inference.store.append(
        [
          {
            type: 'inference.key.revoked',
            aggregateId: name,
            data: { name, revokedBy: 'int test', reason: 'test' },
          },
        ],
        { expectedSequence: 'any' },
      );
      await firewall.view.caughtUp(result.lastSequence);
    },
    async history() {
      const { admin } = app;
      const info = await admin.jsm.streams.info(admin.store.stream);
      const out: { bytes: Uint8Array; payload: string; event: CloudEvent }[] = [];
      for await (const entry of readHistory(admin.js, admin.jsm, admin.store.stream, {
        fromSeq: 1,
        toSeq: info.state.last_seq,
      })) {
        const envelope = JSON.parse(Buffer.from(entry.bytes).toString('utf8')) as {
          payload: string;
        };
        out.push({
          bytes: entry.bytes,
          payload: Buffer.from(envelope.payload, 'base64').toString('utf8'),
          event: verifyEnvelope(entry.bytes, admin.store.trust, {
            natsSubject: entry.subject,
            streamSeq: entry.seq,
          }).event,
        });
      }
      return out;
    },
    async stop() {
      await firewall.http.close().catch(() => undefined);
      await firewall.stop().catch(() => undefined);
      for (const s of subs) s.unsubscribe();
      await signing.close();
      await app.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
