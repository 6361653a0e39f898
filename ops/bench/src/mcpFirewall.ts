import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { issueBearerToken } from '@secai/contracts';
import { startMcpFirewall } from '@secai/mcp-firewall';
import { startTestUpstream } from '@secai/mcp-firewall/testing';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  groupCommitRecorder,
  serveCommands,
} from '@secai/policy-engine';
import { SigningPool } from '@secai/streams';
import { startTestAppliance } from '@secai/streams/testing';
import type { Row } from './report.js';
import { interleavedRounds, msRow, ratio, latencyRatioRow } from './rounds.js';
import type { Latency } from './stats.js';

// (l) The MCP firewall (issue 13 §5): one MCP `tools/call` through the proxy against the same call
// made to the upstream directly. Both sides use the SDK's client over streamable HTTP, in this
// process, against the same upstream (an SDK server on loopback, answering a short text). The
// proxied call adds: HTTP to the firewall with a token, the session's rate limit and lock, the
// active policy read, the catalogue (the tool is pinned and clean), an `mcp_call` decision over
// NATS recorded by the engine (group commit, as the service runs), `mcp.call.decided` (appended
// while the upstream works), the answer bounded, redacted and scanned, and `mcp.call.completed`
// before the client gets it. Interleaved round by round, so a slow phase of a shared machine hits
// both alike.

export interface McpBenchOptions {
  iterations: number;
  rounds: number;
  log: (message: string) => void;
}

export interface McpFigures {
  iterations: number;
  rounds: number;
  direct: Latency;
  proxied: Latency;
  /** Median proxied latency ÷ median direct latency (how many times slower). */
  medianRatio: number;
  p99Ratio: number;
}

const ANSWER = 'The quick brown fox jumps over the lazy dog.';

export async function mcpFirewallBench(options: McpBenchOptions): Promise<McpFigures> {
  const { log } = options;
  const quiet = pino({ level: 'silent' });
  const app = await startTestAppliance({ asyncTraces: false });
  const dir = await mkdtemp(join(tmpdir(), 'secai-bench-mcp-'));
  const upstream = await startTestUpstream([
    {
      name: 'echo',
      description: 'Answer with a fixed sentence.',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
      answer: () => ({ content: [{ type: 'text', text: ANSWER }] }),
    },
  ]);
  let signing: SigningPool | undefined;
  const clients: Client[] = [];
  try {
    const policyDir = join(dir, 'policy');
    await cp(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
    await writeFile(
      join(policyDir, 'mcp.yaml'),
      stringify({
        version: 1,
        default_action: 'deny',
        servers: [
          {
            name: 'bench',
            trust_level: 'trusted',
            url: upstream.url,
            // The bench measures the gate, not the throttle.
            rate_limit: { requests_per_minute: 1_000_000, burst_size: 1_000_000 },
            tools: [{ name: 'echo', action: 'allow', outward: false }],
          },
        ],
      }),
    );
    const engineSide = await app.client('policy-engine');
    const engine = new PolicyEngine();
    const host = new PolicyHost(engine, engineSide.store, policyDir, quiet);
    if (!(await host.reload('startup')).ok) throw new Error('the bench policy was refused');
    signing = await SigningPool.create(app.pki.identities.get('policy-engine')!);
    const subs = serveCommands(engineSide.nc, {
      engine,
      host,
      recorder: groupCommitRecorder(engineSide.js, signing),
      signer: engineSide.store.signer,
      trust: engineSide.store.trust,
      log: quiet,
    });
    const firewall = await startMcpFirewall(await app.client('mcp-firewall'), {
      log: quiet,
      idleMs: 0,
      sessionLimit: { requests_per_minute: 1_000_000, burst_size: 1_000_000 },
    });
    const url = await firewall.http.listen({ host: '127.0.0.1', port: 0 });
    const token = (service: string) =>
      issueBearerToken(app.pki.signerFor(service), {
        audience: 'mcp-firewall',
        now: new Date(),
        ttlSeconds: 3600,
      });
    const approved = await fetch(`${url}/api/v1/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token('cli')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ server: 'bench', tool: 'echo', operator: 'bench' }),
    });
    if (approved.status !== 200) throw new Error(`approving echo answered ${approved.status}`);

    const connect = async (endpoint: string, headers: Record<string, string> = {}) => {
      const client = new Client({ name: 'bench', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } }),
      );
      clients.push(client);
      return client;
    };
    const direct = await connect(upstream.url);
    const proxied = await connect(`${url}/mcp`, { authorization: `Bearer ${token('agent')}` });
    const call = (client: Client) => async () => {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
      const text = (result.content as { text?: string }[])[0]?.text;
      if (text !== ANSWER) throw new Error(`the call answered ${JSON.stringify(result)}`);
    };
    log('mcp: warming up');
    const timed = await interleavedRounds(
      { direct: { run: call(direct) }, proxied: { run: call(proxied) } },
      { iterations: options.iterations, rounds: options.rounds, warmup: 200, name: 'mcp', log },
    );
    for (const c of clients) await c.close().catch(() => undefined);
    await firewall.stop();
    for (const s of subs) s.unsubscribe();
    const { direct: d, proxied: p } = timed.latency;
    return {
      iterations: timed.iterations,
      rounds: options.rounds,
      direct: d,
      proxied: p,
      medianRatio: ratio(p.medianUs, d.medianUs, 2),
      p99Ratio: ratio(p.p99Us, d.p99Us, 2),
    };
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await signing?.close();
    await upstream.close();
    await app.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

export function mcpFirewallRows(f: McpFigures): Row[] {
  return [
    msRow(
      '(l) MCP tools/call, upstream direct',
      f.direct,
      f.iterations,
      f.rounds,
      'SDK client → SDK server over streamable HTTP on loopback, in process',
    ),
    msRow(
      '(l) MCP tools/call through the firewall',
      f.proxied,
      f.iterations,
      f.rounds,
      'HTTP + token, pin check, mcp_call over NATS (recorded), upstream, 2 events',
    ),
    latencyRatioRow(
      '(l) firewall ÷ direct, MCP tools/call',
      f.medianRatio,
      f.p99Ratio,
      f.rounds,
      2,
    ),
  ];
}
