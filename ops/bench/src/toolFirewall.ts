import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { issueBearerToken } from '@secai/contracts';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  groupCommitRecorder,
  serveCommands,
} from '@secai/policy-engine';
import { SigningPool, sendCommand } from '@secai/streams';
import { startTestAppliance } from '@secai/streams/testing';
import {
  DEFAULT_ADAPTER_LIMITS,
  FILESYSTEM_ADAPTERS,
  redactValue,
  resolvePath,
  startToolFirewall,
} from '@secai/tool-firewall';
import type { Row } from './report.js';
import { interleavedRounds, msRow, ratio, latencyRatioRow } from './rounds.js';
import { nowNs, type Latency } from './stats.js';

// (k) The tool firewall (issue 13 §5): one `filesystem.read` of a small file through the
// firewall (HTTP, the caller's token, validation, the rate limit, two policy decisions over
// NATS, each recorded by the engine (group commit, as the service runs), the path opened and checked, the adapter, redaction, and
// the call's two events) against the same adapter called directly in this process (the path
// opened and checked by descriptor, the read, the redaction: no HTTP, no decision, no event).
// Both run in the same process, interleaved round by round, so a slow phase of a shared machine
// hits both alike. One policy decision over NATS is timed too: it is most of the difference.

export interface ToolBenchOptions {
  iterations: number;
  rounds: number;
  /** Calls in flight for the throughput figure. */
  concurrency: number;
  fileBytes: number;
  log: (message: string) => void;
}

export interface ToolFigures {
  iterations: number;
  rounds: number;
  fileBytes: number;
  direct: Latency;
  firewall: Latency;
  decide: Latency;
  /** Median firewall latency ÷ median direct latency (how many times slower). */
  medianRatio: number;
  p99Ratio: number;
  concurrency: number;
  firewallCallsPerSecond: number;
  directCallsPerSecond: number;
}

export async function toolFirewallBench(options: ToolBenchOptions): Promise<ToolFigures> {
  const { log } = options;
  const quiet = pino({ level: 'silent' });
  const app = await startTestAppliance({ asyncTraces: false });
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-tools-'));
  let signing: SigningPool | undefined;
  try {
    // The shipped policy, with a rate limit the bench cannot reach (it measures the gate, not
    // the throttle).
    const policyDir = join(dir, 'policy');
    await cp(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
    const file = join(policyDir, 'policy.yaml');
    const doc = parse(await readFile(file, 'utf8')) as { tools: Record<string, unknown> };
    doc.tools.rate_limit = { requests_per_minute: 1_000_000, burst_size: 1_000_000 };
    await writeFile(file, stringify(doc));
    const engineSide = await app.client('policy-engine');
    const engine = new PolicyEngine();
    const host = new PolicyHost(engine, engineSide.store, policyDir, quiet);
    if (!(await host.reload('startup')).ok) throw new Error('the bench policy was refused');
    // As the engine runs: group commit, signed on a worker thread.
    signing = await SigningPool.create(app.pki.identities.get('policy-engine')!);
    const subs = serveCommands(engineSide.nc, {
      engine,
      host,
      recorder: groupCommitRecorder(engineSide.js, signing),
      signer: engineSide.store.signer,
      trust: engineSide.store.trust,
      log: quiet,
    });
    const firewall = await startToolFirewall(await app.client('tool-firewall'), {
      workspace: join(dir, 'vault'),
      log: quiet,
    });
    const url = `${await firewall.http.listen({ host: '127.0.0.1', port: 0 })}/api/v1/tools/call`;
    const text = 'The quick brown fox jumps over the lazy dog.\n';
    await writeFile(
      join(dir, 'vault', 'user_docs', 'note.txt'),
      text.repeat(Math.ceil(options.fileBytes / text.length)).slice(0, options.fileBytes),
    );
    const logical = '/vault/user_docs/note.txt';
    const token = issueBearerToken(app.pki.signerFor('agent'), {
      audience: 'tool-firewall',
      now: new Date(),
      ttlSeconds: 3600,
    });
    const body = JSON.stringify({ tool: 'filesystem.read', arguments: { path: logical } });
    const read = FILESYSTEM_ADAPTERS.find((a) => a.name === 'filesystem.read')!;

    const viaFirewall = async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      const answer = (await res.json()) as { output?: string };
      if (res.status !== 200 || answer.output?.length !== options.fileBytes)
        throw new Error(`the firewall answered ${res.status}`);
    };
    const direct = async () => {
      const resolved = await resolvePath(firewall.workspace, logical, 'file', () =>
        Promise.resolve(true),
      );
      try {
        const out = await read.run(
          { path: logical },
          { paths: new Map([['path', resolved]]), limits: DEFAULT_ADAPTER_LIMITS },
        );
        if ((redactValue(out.value).value as string).length !== options.fileBytes)
          throw new Error('the adapter read something else');
      } finally {
        await resolved.handle.close();
      }
    };
    const cli = await app.client('cli');
    const decide = () =>
      sendCommand(cli.nc, {
        command: 'policy-engine.decide',
        signer: cli.store.signer,
        trust: cli.store.trust,
        request: { domain: 'path_access', subject: logical, action: 'read' },
      });

    log(`tools: warming up (${options.fileBytes} B file)`);
    const timed = await interleavedRounds(
      {
        direct: { run: direct },
        firewall: { run: viaFirewall },
        // One decision alone, half as often: it is most of the difference.
        decide: { run: decide, share: 0.5 },
      },
      { iterations: options.iterations, rounds: options.rounds, warmup: 200, name: 'tools', log },
    );

    const throughput = async (f: () => Promise<void>, calls: number) => {
      let next = 0;
      const started = nowNs();
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (next++ < calls) await f();
        }),
      );
      return calls / (Number(nowNs() - started) / 1e9);
    };
    const calls = Math.max(options.concurrency, Math.floor(options.iterations / 2));
    const firewallCallsPerSecond = await throughput(viaFirewall, calls);
    const directCallsPerSecond = await throughput(direct, calls);

    await firewall.http.close();
    await firewall.stop();
    for (const s of subs) s.unsubscribe();
    const { direct: d, firewall: fw, decide: one } = timed.latency;
    return {
      iterations: timed.iterations,
      rounds: options.rounds,
      fileBytes: options.fileBytes,
      direct: d,
      firewall: fw,
      decide: one,
      medianRatio: ratio(fw.medianUs, d.medianUs, 1),
      p99Ratio: ratio(fw.p99Us, d.p99Us, 1),
      concurrency: options.concurrency,
      firewallCallsPerSecond: Math.round(firewallCallsPerSecond),
      directCallsPerSecond: Math.round(directCallsPerSecond),
    };
  } finally {
    await signing?.close();
    await app.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

export function toolFirewallRows(f: ToolFigures): Row[] {
  return [
    msRow(
      '(k) filesystem.read, adapter direct',
      f.direct,
      f.iterations,
      f.rounds,
      `${f.fileBytes} B file: opened and checked by descriptor, read, redacted; in process`,
    ),
    msRow(
      '(k) filesystem.read through the firewall',
      f.firewall,
      f.iterations,
      f.rounds,
      'HTTP + token, checks, 2 decisions over NATS (each recorded), adapter, 2 events',
    ),
    latencyRatioRow('(k) firewall ÷ direct, latency', f.medianRatio, f.p99Ratio, f.rounds, 1),
    msRow(
      '(k) one policy decision over NATS',
      f.decide,
      f.decide.iterations,
      f.rounds,
      'path_access, signed both ways, recorded before the answer',
    ),
    {
      measure: `(k) calls/s at ${f.concurrency} in flight, firewall / direct`,
      n: Math.max(f.concurrency, Math.floor(f.iterations / 2)),
      runs: 1,
      value: `${f.firewallCallsPerSecond} / ${f.directCallsPerSecond}`,
      spread: `${(f.firewallCallsPerSecond / f.directCallsPerSecond).toFixed(3)}×`,
      note: 'throughput of the same call',
    },
  ];
}
