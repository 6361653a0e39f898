import { randomBytes } from 'node:crypto';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import {
  MCP_TAINT,
  mcpArgumentRedacted,
  mcpRedactionCountsList as countsList,
  mcpRateLimitOf,
  mcpRedactionOf,
  mcpResourceRuleOf,
  mcpServerOf,
  mcpTaintOnExecute,
  mcpToolOf,
  redactMcp as redact,
  type McpPolicy,
  type McpServerPolicyData,
} from '@secai/contracts';
import { KeyedMutex, type Logger } from '@secai/streams';
import { describeArguments, type ArgumentSummary, type DecisionArgument } from './args.js';
import type { Decide } from './decide.js';
import type { DraftOf } from './drafts.js';
import { McpFirewallError, type McpFirewallErrorCode } from './errors.js';
import { cleanOutput, OutputRefused, type CleanOutput } from './outputs.js';
import type { McpPolicyCache } from './policy.js';
import { Buckets, DEFAULT_LIMIT, type BucketLimit } from './rateLimit.js';
import { scanTool } from './scan/poison.js';
import { scanOutput } from './scan/injection.js';
import type { Sessions } from './sessions.js';
import type { LiveState } from './state.js';
import { bounded, label } from './text.js';
import type { ToolCatalog } from './toolCatalog.js';
import type { ToolView } from './toolVersion.js';
import { OUTPUT_TOO_LARGE_CODE } from './upstream/tooLarge.js';
import { UpstreamError } from './upstream/connect.js';
import type { Upstreams } from './upstream/upstreams.js';

// Every MCP request a client sends, end to end: the session's rate limit, the active policy, the
// firewall's own checks (the tool is listed: clean, not shadowing, pinned), the server's rate
// limit, the policy engine's `mcp_call` decision (with the session's taint and the arguments as
// sizes, digests and short redacted values), the record of that decision, the upstream call, the
// answer bounded, redacted and scanned, the taint the execution applies, and the record of what
// came back, before the client sees it. Calls that can taint a session run one at a time per
// session, so no call is decided before the taint of the one before it is applied.

export interface CallContext {
  session: string;
  caller: string;
}

export interface GateOptions {
  policy: McpPolicyCache;
  decide: Decide;
  upstreams: Upstreams;
  catalog: ToolCatalog;
  sessions: Sessions;
  state: LiveState;
  log: Logger;
  outputLimitBytes: number;
  sessionLimit?: BucketLimit;
  now?: () => number;
}

type Method =
  | 'tools/list'
  | 'tools/call'
  | 'resources/list'
  | 'resources/read'
  | 'prompts/list'
  | 'prompts/get';

interface Call {
  ctx: CallContext;
  callId: string;
  method: Method;
  server: string | null;
  tool?: string;
  resource?: string;
  summary: ArgumentSummary[];
  taint: string[];
  /** What the engine decides on when it differs from the recorded `resource` (a read's full URI). */
  decisionResource?: string;
}

type Answer =
  | { kind: 'result'; raw: Record<string, unknown> }
  | { kind: 'error'; message: string }
  | { kind: 'too_large'; bytes: number }
  | { kind: 'unavailable'; message: string };

const newCallId = () => `call_${randomBytes(12).toString('base64url')}`;

/** A call not yet routed to a server, with a fresh id. */
const newCall = (
  ctx: CallContext,
  method: Method,
  taint: string[],
  named: Pick<Call, 'tool' | 'resource' | 'decisionResource'> = {},
): Call => ({ ctx, callId: newCallId(), method, server: null, ...named, summary: [], taint });

export class Gate {
  readonly #buckets = new Buckets();
  readonly #mutex = new KeyedMutex();
  /** Keys whose rate limit is refusing now: only the first refusal of an episode is recorded. */
  readonly #limited = new Set<string>();
  readonly #resources = new Map<string, string>();
  readonly #prompts = new Map<string, string>();
  readonly #now: () => number;

  constructor(private readonly o: GateOptions) {
    this.#now = o.now ?? Date.now;
  }

  // ---- lists -------------------------------------------------------------------------------

  async listTools(ctx: CallContext): Promise<{ tools: ToolView[] }> {
    const { policy, servers } = await this.#listable(ctx, 'tools/list');
    await this.o.catalog.refresh(policy, servers);
    const allowed = new Set(servers.map((s) => s.name));
    return {
      tools: [...this.o.catalog.catalog.listed.values()]
        .filter((t) => allowed.has(t.server))
        .map((t) => t.view),
    };
  }

  async listResources(ctx: CallContext): Promise<{ resources: Record<string, unknown>[] }> {
    const { servers } = await this.#listable(ctx, 'resources/list');
    return {
      resources: await this.#gather(servers, 'resources/list', 'resources', 'uri', this.#resources),
    };
  }

  async listPrompts(ctx: CallContext): Promise<{ prompts: Record<string, unknown>[] }> {
    const { servers } = await this.#listable(ctx, 'prompts/list');
    return {
      prompts: await this.#gather(servers, 'prompts/list', 'prompts', 'name', this.#prompts),
    };
  }

  /** The servers whose listing this session may see: one decision per server. */
  async #listable(
    ctx: CallContext,
    method: Method,
  ): Promise<{ policy: McpPolicy; servers: McpServerPolicyData[] }> {
    const limited = this.#sessionRate(ctx, newCall(ctx, method, []));
    if (limited) throw limited;
    const policy = await this.#policy(newCall(ctx, method, []));
    const taint = this.o.sessions.taint(ctx.session);
    const verdicts = await Promise.all(
      policy.servers.map(async (server) => {
        const call: Call = { ...newCall(ctx, method, taint), server: server.name };
        try {
          await this.#decided(call, []);
          return server;
        } catch (err) {
          if (err instanceof McpFirewallError) return null;
          throw err;
        }
      }),
    );
    return { policy, servers: verdicts.filter((s): s is McpServerPolicyData => s !== null) };
  }

  /**
   * One listing of resources or prompts over `servers`, each item kept only if its text is clean
   * (the poisoning scan) and its key (`uri`, `name`) leads to one server; the routes are kept for
   * the reads that follow.
   */
  async #gather(
    servers: readonly McpServerPolicyData[],
    method: string,
    field: string,
    keyField: string,
    routes: Map<string, string>,
  ): Promise<Record<string, unknown>[]> {
    const byKey = new Map<string, { server: string; item: Record<string, unknown> }[]>();
    await Promise.all(
      servers.map(async (server) => {
        let items: unknown[];
        try {
          items = await this.o.upstreams.list(server, method, field);
        } catch (err) {
          this.o.log.warn(
            { server: server.name, err: (err as Error).message },
            `${method} failed upstream`,
          );
          return;
        }
        for (const raw of items) {
          if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue;
          const item = raw as Record<string, unknown>;
          const key = item[keyField];
          if (typeof key !== 'string' || key.length === 0 || key.length > 2048) continue;
          const findings = scanTool(item);
          if (findings.length > 0) {
            this.o.log.warn(
              { server: server.name, codes: findings.map((f) => f.code) },
              `${method}: an item was not listed`,
            );
            continue;
          }
          const { _meta: _drop, ...shown } = item;
          byKey.set(key, [...(byKey.get(key) ?? []), { server: server.name, item: shown }]);
        }
      }),
    );
    const out: Record<string, unknown>[] = [];
    for (const [key, entries] of byKey) {
      if (entries.length !== 1) {
        routes.delete(key);
        continue; // two servers claim it: neither is reachable by that key
      }
      routes.set(key, entries[0]!.server);
      out.push(entries[0]!.item);
    }
    return out;
  }

  // ---- calls -------------------------------------------------------------------------------

  callTool(ctx: CallContext, name: string, args: unknown): Promise<Record<string, unknown>> {
    return this.#serialised(ctx, 'tools/call', { tool: label(name, 256) }, async (call, policy) => {
      await this.o.catalog.ensureFresh(policy);
      let tool;
      try {
        tool = this.o.catalog.resolve(name);
      } catch (err) {
        if (err instanceof McpFirewallError)
          await this.#refuse(call, err, `firewall.${err.code.toLowerCase()}`);
        throw err;
      }
      call.server = tool.server;
      call.tool = name;
      const server = this.#serverOf(policy, call);
      const toolPolicy = mcpToolOf(policy, server.name, name);
      const decisionArgs = await this.#described(
        call,
        args,
        (arg) => mcpArgumentRedacted(toolPolicy, arg),
        policy,
      );
      this.#serverRate(call, server);
      return this.#execute(call, policy, server, decisionArgs, (signal) =>
        this.o.upstreams.request(server, 'tools/call', { name, arguments: args ?? {} }, signal),
      );
    });
  }

  readResource(ctx: CallContext, uri: string): Promise<Record<string, unknown>> {
    // The engine decides on the URI as it will be read (a redacted copy could hide a `..`);
    // events get a redacted, cut copy.
    const shown = bounded(
      redact(uri, ['api_key', 'bearer_token', 'password', 'aws_key']).text,
      512,
    );
    return this.#serialised(
      ctx,
      'resources/read',
      { resource: shown, decisionResource: uri },
      async (call, policy) => {
        const server = await this.#routeOf(
          call,
          policy,
          this.#resources,
          uri,
          'resources/list',
          'resources',
          'uri',
        );
        this.#serverRate(call, server);
        return this.#execute(call, policy, server, [], (signal) =>
          this.o.upstreams.request(server, 'resources/read', { uri }, signal),
        );
      },
    );
  }

  getPrompt(ctx: CallContext, name: string, args: unknown): Promise<Record<string, unknown>> {
    return this.#serialised(
      ctx,
      'prompts/get',
      { resource: label(name, 512) },
      async (call, policy) => {
        const server = await this.#routeOf(
          call,
          policy,
          this.#prompts,
          name,
          'prompts/list',
          'prompts',
          'name',
        );
        const decisionArgs = await this.#described(call, args, () => false, policy);
        this.#serverRate(call, server);
        return this.#execute(call, policy, server, decisionArgs, (signal) =>
          this.o.upstreams.request(server, 'prompts/get', { name, arguments: args ?? {} }, signal),
        );
      },
    );
  }

  /**
   * What every content call does before its own part: the session's rate limit, counted when the
   * request arrives and not when its turn comes (a burst is judged as the burst it is); then, one
   * call at a time per session, the session's taint as the call before left it and the active
   * policy, handed to `body`.
   */
  #serialised<T>(
    ctx: CallContext,
    method: Method,
    named: Pick<Call, 'tool' | 'resource' | 'decisionResource'>,
    body: (call: Call, policy: McpPolicy) => Promise<T>,
  ): Promise<T> {
    const call = newCall(ctx, method, this.o.sessions.taint(ctx.session), named);
    const limited = this.#sessionRate(ctx, call);
    if (limited) return Promise.reject(limited);
    return this.#mutex.run(ctx.session, async () => {
      call.taint = this.o.sessions.taint(ctx.session);
      return body(call, await this.#policy(call));
    });
  }

  /**
   * The call's arguments as the engine sees them; the summary is kept on `call` for the events.
   * Arguments that cannot be described are refused (recorded and thrown).
   */
  async #described(
    call: Call,
    args: unknown,
    redacted: (arg: string) => boolean,
    policy: McpPolicy,
  ): Promise<DecisionArgument[]> {
    const described = describeArguments(args, redacted, mcpRedactionOf(policy));
    if ('code' in described)
      return this.#refuse(
        call,
        new McpFirewallError('ARGUMENTS_INVALID', described.message),
        'firewall.arguments_invalid',
      );
    call.summary = described.summary;
    return described.decision;
  }

  /** The server a resource URI or prompt name leads to (listing all once if it is not known). */
  async #routeOf(
    call: Call,
    policy: McpPolicy,
    routes: Map<string, string>,
    key: string,
    method: string,
    field: string,
    keyField: string,
  ): Promise<McpServerPolicyData> {
    if (!routes.has(key)) await this.#gather(policy.servers, method, field, keyField, routes);
    const name = routes.get(key);
    if (name === undefined) {
      const code: McpFirewallErrorCode =
        call.method === 'prompts/get' ? 'PROMPT_UNKNOWN' : 'RESOURCE_UNKNOWN';
      await this.#refuse(
        call,
        new McpFirewallError(code, `no single upstream lists ${label(key, 128)}`),
        `firewall.${code.toLowerCase()}`,
      );
    }
    call.server = name!;
    return this.#serverOf(policy, call);
  }

  /** Decide, record, carry out, clean, taint, record: the allowed path of one content call. */
  async #execute(
    call: Call,
    policy: McpPolicy,
    server: McpServerPolicyData,
    args: DecisionArgument[],
    send: (signal: AbortSignal) => Promise<Record<string, unknown>>,
  ): Promise<Record<string, unknown>> {
    const decided = await this.#decide(call, args);
    const started = this.#now();
    // The decision is recorded while the upstream works; the answer waits for both.
    const [recorded, answer] = await Promise.allSettled([
      this.o.state.append([decided], { expectedSequence: 'any' }),
      this.#ask(send),
    ]);
    if (recorded.status === 'rejected') throw recorded.reason;
    const a = (answer as PromiseFulfilledResult<Answer>).value;
    const durationMs = Math.max(0, this.#now() - started);
    if (a.kind === 'unavailable') {
      await this.#completed(call, { outcome: 'upstream_failed', bytes: 0, durationMs });
      throw new McpFirewallError(
        'UPSTREAM_UNAVAILABLE',
        `server ${server.name} is not available: ${a.message}`,
      );
    }
    if (a.kind === 'too_large') {
      await this.#completed(call, { outcome: 'too_large', bytes: a.bytes, durationMs });
      throw new McpFirewallError(
        'OUTPUT_TOO_LARGE',
        `the answer of ${server.name} was larger than ${this.o.outputLimitBytes} bytes and was refused`,
      );
    }
    const categories = mcpRedactionOf(policy);
    if (a.kind === 'error') {
      const message = redact(a.message, categories).text.slice(0, 1024);
      const injection = scanOutput([message]);
      await this.#completed(
        call,
        { outcome: 'upstream_failed', bytes: Buffer.byteLength(a.message), durationMs, injection },
        this.#taintOf(call, policy, injection.found),
      );
      throw new McpFirewallError('UPSTREAM_FAILED', `server ${server.name} failed: ${message}`);
    }
    let clean: CleanOutput;
    try {
      clean = cleanOutput(a.raw, this.o.outputLimitBytes, categories);
    } catch (err) {
      if (!(err instanceof OutputRefused)) throw err;
      await this.#completed(call, { outcome: 'too_large', bytes: err.bytes, durationMs });
      throw new McpFirewallError(
        'OUTPUT_TOO_LARGE',
        `the answer of ${server.name} was refused: ${err.message}`,
      );
    }
    await this.#completed(
      call,
      {
        outcome: clean.result.isError === true ? 'tool_error' : 'ok',
        bytes: clean.bytes,
        durationMs,
        clean,
        injection: clean.injection,
      },
      this.#taintOf(call, policy, clean.injection.found),
    );
    return clean.result;
  }

  /** The upstream's answer, every failure named (never thrown). */
  async #ask(send: (signal: AbortSignal) => Promise<Record<string, unknown>>): Promise<Answer> {
    try {
      return { kind: 'result', raw: await send(new AbortController().signal) };
    } catch (err) {
      if (err instanceof McpError) {
        if (err.code === OUTPUT_TOO_LARGE_CODE) {
          const bytes = (err.data as { bytes?: unknown } | undefined)?.bytes;
          return {
            kind: 'too_large',
            bytes: typeof bytes === 'number' && bytes >= 0 ? Math.floor(bytes) : 0,
          };
        }
        // The SDK's own timeouts and closed connections are McpErrors too (code -32001, -32000).
        if (err.code === -32001 || err.code === -32000)
          return { kind: 'unavailable', message: err.message };
        return { kind: 'error', message: err.message };
      }
      if (err instanceof UpstreamError) return { kind: 'unavailable', message: err.reason };
      return { kind: 'unavailable', message: (err as Error).message ?? 'failed' };
    }
  }

  /** Labels the execution applies: policy's (the tool's, the resource's), `untrusted` for an untrusted server or an injection. */
  #taintOf(call: Call, policy: McpPolicy, injection: boolean): DraftOf<'mcp.taint.applied'>[] {
    const server = call.server!;
    const labels = mcpTaintOnExecute(policy, {
      server,
      method: call.method,
      ...(call.method === 'tools/call' && call.tool !== undefined ? { tool: call.tool } : {}),
      ...(call.method === 'resources/read' && call.decisionResource !== undefined
        ? { resource: call.decisionResource }
        : {}),
    });
    const serverPolicy = mcpServerOf(policy, server);
    const own = new Set<string>([
      ...(call.method === 'tools/call' && call.tool
        ? (mcpToolOf(policy, server, call.tool)?.taint ?? [])
        : []),
      ...(call.method === 'resources/read' && serverPolicy && call.decisionResource
        ? (mcpResourceRuleOf(serverPolicy, call.decisionResource)?.rule.taint ?? [])
        : []),
    ]);
    type Cause = 'policy' | 'untrusted_server' | 'injection';
    const causes: { label: string; cause: Cause }[] = labels.map((l) => ({
      label: l,
      cause: own.has(l) ? 'policy' : 'untrusted_server',
    }));
    if (injection && !labels.includes(MCP_TAINT.untrusted))
      causes.push({ label: MCP_TAINT.untrusted, cause: 'injection' });
    const active = new Set(this.o.sessions.taint(call.ctx.session));
    return causes
      .filter((c) => !active.has(c.label))
      .map((c) => ({
        type: 'mcp.taint.applied',
        aggregateId: call.ctx.session,
        data: {
          session: call.ctx.session,
          label: c.label,
          callId: call.callId,
          server,
          ...(call.tool !== undefined ? { tool: call.tool } : {}),
          cause: c.cause,
        },
      }));
  }

  /** Records what came back (and the taint it applied) before the client sees any of it. */
  async #completed(
    call: Call,
    o: {
      outcome: 'ok' | 'tool_error' | 'too_large' | 'upstream_failed';
      bytes: number;
      durationMs: number;
      clean?: CleanOutput;
      injection?: { found: boolean; signals: string[] };
    },
    taint: DraftOf<'mcp.taint.applied'>[] = [],
  ): Promise<void> {
    const completed: DraftOf<'mcp.call.completed'> = {
      type: 'mcp.call.completed',
      aggregateId: call.ctx.session,
      data: {
        ...this.#what(call),
        outcome: o.outcome,
        outputDigest: o.clean?.digest ?? null,
        bytes: o.bytes,
        truncated: o.clean?.truncated ?? false,
        redactions: o.clean ? countsList(o.clean.redactions) : [],
        injection: {
          found: o.injection?.found ?? false,
          signals: (o.injection?.signals ?? []).slice(0, 16),
        },
        durationMs: Math.round(o.durationMs),
      },
    };
    await this.o.state.append([completed, ...taint], { expectedSequence: 'any' });
  }

  // ---- decisions ---------------------------------------------------------------------------

  /**
   * Asks the engine; a deny or an ask is recorded and thrown, an allow is returned as the
   * `mcp.call.decided` draft for the caller to record (beside the upstream call).
   */
  async #decide(call: Call, args: DecisionArgument[]): Promise<DraftOf<'mcp.call.decided'>> {
    const outcome = await this.o.decide({
      domain: 'mcp_call',
      subject: '',
      mcp: {
        server: call.server!,
        method: call.method,
        ...(call.method === 'tools/call' ? { tool: call.tool! } : {}),
        ...(call.method === 'resources/read' || call.method === 'prompts/get'
          ? { resource: call.decisionResource ?? call.resource! }
          : {}),
        arguments: args.map((a) => ({
          name: a.name,
          bytes: a.bytes,
          digest: a.digest,
          ...(a.value !== undefined ? { value: a.value } : {}),
        })),
        taint: call.taint,
      },
    });
    if (!outcome.ok)
      await this.#refuse(
        call,
        new McpFirewallError('POLICY_UNAVAILABLE', `no decision: ${outcome.code}`),
        'firewall.policy_unavailable',
      );
    const { response } = outcome as Extract<typeof outcome, { ok: true }>;
    const decisionId = response.decisionId ?? response.eventId ?? null;
    const draft: DraftOf<'mcp.call.decided'> = {
      type: 'mcp.call.decided',
      aggregateId: call.ctx.session,
      data: {
        ...this.#what(call),
        decision: response.decision,
        by: 'policy',
        ruleId: response.evidence.ruleId,
        reason: response.reason.slice(0, 512),
        decisionId,
        arguments: call.summary,
        taint: call.taint,
      },
    };
    if (response.decision === 'allow') return draft;
    await this.o.state.append([draft], { expectedSequence: 'any' });
    const detail = { ruleId: response.evidence.ruleId, decisionId };
    throw response.decision === 'ask'
      ? new McpFirewallError(
          'APPROVAL_REQUIRED',
          `approval required (${response.evidence.ruleId}): ${response.reason}; there is no per-call approval yet`,
          detail,
        )
      : new McpFirewallError(
          'POLICY_DENIED',
          `denied by policy (${response.evidence.ruleId}): ${response.reason}`,
          detail,
        );
  }

  /** The decision of a list method for one server (an allow is recorded here too). */
  async #decided(call: Call, args: DecisionArgument[]): Promise<void> {
    const draft = await this.#decide(call, args);
    await this.o.state.append([draft], { expectedSequence: 'any' });
  }

  #what(call: Call) {
    return {
      session: call.ctx.session,
      callId: call.callId,
      server: call.server,
      method: call.method,
      ...(call.tool !== undefined ? { tool: call.tool } : {}),
      ...(call.resource !== undefined ? { resource: call.resource } : {}),
    };
  }

  /** Records the firewall's own refusal of a call, then throws it. */
  async #refuse(call: Call, err: McpFirewallError, ruleId: string): Promise<never> {
    await this.o.state.append(
      [
        {
          type: 'mcp.call.decided',
          aggregateId: call.ctx.session,
          data: {
            ...this.#what(call),
            decision: 'deny',
            by: 'firewall',
            ruleId,
            reason: err.message.slice(0, 512),
            decisionId: null,
            arguments: call.summary,
            taint: call.taint,
          },
        },
      ],
      { expectedSequence: 'any' },
    );
    throw err;
  }

  async #policy(call: Call): Promise<McpPolicy> {
    const view = await this.o.policy.read();
    if (view.ok) return view.policy;
    return this.#refuse(
      call,
      new McpFirewallError('POLICY_UNAVAILABLE', view.problem),
      'firewall.policy_unavailable',
    );
  }

  #serverOf(policy: McpPolicy, call: Call): McpServerPolicyData {
    const server = mcpServerOf(policy, call.server!);
    if (server) return server;
    throw new McpFirewallError(
      'SERVER_UNKNOWN',
      `server ${call.server} is no longer in the policy`,
    );
  }

  // ---- rate limits -------------------------------------------------------------------------

  /** The refusal when the session's bucket is empty (recorded as `#rate` says), else null. */
  #sessionRate(ctx: CallContext, call: Call): McpFirewallError | null {
    return this.#rate(
      `session:${ctx.session}`,
      this.o.sessionLimit ?? DEFAULT_LIMIT,
      call,
      'firewall.rate_limited.session',
    );
  }

  #serverRate(call: Call, server: McpServerPolicyData): void {
    const limited = this.#rate(
      `server:${server.name}`,
      mcpRateLimitOf(server),
      call,
      'firewall.rate_limited.server',
    );
    if (limited) throw limited;
  }

  /**
   * Takes a token (null) or returns the `RATE_LIMITED` refusal. The first refusal of a run of
   * refusals is recorded; the rest are not (a flood must not become a flood of events).
   */
  #rate(key: string, limit: BucketLimit, call: Call, ruleId: string): McpFirewallError | null {
    const waitMs = this.#buckets.take(key, limit, this.#now());
    if (waitMs === 0) {
      this.#limited.delete(key);
      return null;
    }
    const err = new McpFirewallError(
      'RATE_LIMITED',
      `rate limit reached (${ruleId.split('.').pop()}); retry later`,
      {
        ruleId,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      },
    );
    if (!this.#limited.has(key)) {
      this.#limited.add(key);
      void this.#refuse(call, err, ruleId).catch(() => undefined);
    }
    return err;
  }
}
