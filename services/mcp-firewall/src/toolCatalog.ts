import type { McpPolicy, McpServerPolicyData } from '@secai/contracts';
import type { Logger } from '@secai/streams';
import { buildCatalog, type Catalog, type CatalogTool } from './catalog.js';
import { serverAggregateId } from './drafts.js';
import { McpFirewallError } from './errors.js';
import { nameSkeleton } from './names.js';
import { toolRecordOf } from './pinsProjection.js';
import type { LiveState } from './state.js';
import { digestOf, label } from './text.js';
import type { Upstreams } from './upstream/upstreams.js';

// The firewall's view of the upstream tools: each upstream's latest `tools/list`, judged by the
// catalogue rules against the pins. Refreshed when a client lists tools (so a rug pull is seen at
// the next listing) and when a call names a tool before any listing (after a restart). Approving
// a tool pins the version observed now, never one described by the operator.

export interface ApproveRequest {
  server: string;
  /** One tool; absent with `all`. */
  tool?: string;
  /** Every new (never pinned) clean tool of the server; a changed one needs its own approval. */
  all?: boolean;
  operator: string;
  /** The digest the operator reviewed: approval is refused if the upstream now shows another. */
  digest?: string;
}

export interface ApproveResult {
  pinned: { tool: string; digest: string; previousDigest: string | null }[];
  skipped: { tool: string; reasons: string[] }[];
}

export class ToolCatalog {
  readonly #observed = new Map<string, readonly unknown[]>();
  #catalog: Catalog = { tools: [], listed: new Map() };
  #refreshing: Promise<void> | null = null;
  #everRefreshed = false;

  constructor(private readonly deps: { upstreams: Upstreams; state: LiveState; log: Logger }) {}

  get catalog(): Catalog {
    return this.#catalog;
  }

  /** Lists `servers` upstream now (in parallel; one that fails shows no tools) and rebuilds. */
  async refresh(policy: McpPolicy, servers: readonly McpServerPolicyData[]): Promise<void> {
    // One refresh at a time: the events it records (a change, a refusal) are recorded once.
    while (this.#refreshing) await this.#refreshing.catch(() => undefined);
    const run = this.#refresh(policy, servers);
    this.#refreshing = run;
    try {
      await run;
    } finally {
      this.#refreshing = null;
    }
  }

  async #refresh(policy: McpPolicy, servers: readonly McpServerPolicyData[]): Promise<void> {
    await Promise.all(
      servers.map(async (server) => {
        try {
          this.#observed.set(
            server.name,
            await this.deps.upstreams.list(server, 'tools/list', 'tools'),
          );
        } catch (err) {
          this.#observed.delete(server.name);
          this.deps.log.warn(
            { server: server.name, err: (err as Error).message },
            'tools/list failed upstream',
          );
        }
      }),
    );
    this.#everRefreshed = true;
    await this.#rebuild(policy);
  }

  /** Once after a start: a call may name a tool before any client listed. */
  async ensureFresh(policy: McpPolicy): Promise<void> {
    if (!this.#everRefreshed) await this.refresh(policy, policy.servers);
  }

  async #rebuild(policy: McpPolicy): Promise<void> {
    const names = new Set(policy.servers.map((s) => s.name));
    for (const name of this.#observed.keys()) if (!names.has(name)) this.#observed.delete(name);
    const observed = [...this.#observed].map(([server, tools]) => ({ server, tools }));
    const { catalog, events } = buildCatalog(observed, this.deps.state.doc.pins, digestOf);
    this.#catalog = catalog;
    for (const event of events) await this.deps.state.append([event], { expectedSequence: 'any' });
  }

  /** Every observed tool of `server` (listed or not), for the API. */
  toolsOf(server?: string): CatalogTool[] {
    return this.#catalog.tools.filter((t) => server === undefined || t.server === server);
  }

  /**
   * The listed tool of that name, or the refusal a call of it gets: not approved (new or
   * changed), refused (poisoned, shadowing...), or unknown.
   */
  resolve(name: string): CatalogTool & { view: NonNullable<CatalogTool['view']> } {
    const listed = this.#catalog.listed.get(name);
    if (listed) return listed;
    const known = this.#catalog.tools.find((t) => t.name === name);
    if (!known)
      throw new McpFirewallError('TOOL_UNKNOWN', `no upstream lists a tool ${label(name, 128)}`);
    if (known.state.state === 'changed')
      throw new McpFirewallError(
        'TOOL_NOT_APPROVED',
        `tool ${name} of ${known.server} changed since it was approved: secai mcp approve ${known.server} ${name}`,
        { reasons: ['changed'] },
      );
    const reasons = known.state.state === 'refused' ? known.state.reasons.map((r) => r.code) : [];
    if (reasons.length === 1 && reasons[0] === 'unpinned')
      throw new McpFirewallError(
        'TOOL_NOT_APPROVED',
        `tool ${name} of ${known.server} is not approved: secai mcp approve ${known.server} ${name}`,
        { reasons },
      );
    throw new McpFirewallError(
      'TOOL_REFUSED',
      `tool ${label(name, 128)} of ${known.server} is refused`,
      {
        reasons,
      },
    );
  }

  /** Pins what `server` shows now (one tool, or every new clean one with `all`). */
  async approve(policy: McpPolicy, request: ApproveRequest): Promise<ApproveResult> {
    const server = policy.servers.find((s) => s.name === request.server);
    if (!server)
      throw new McpFirewallError('SERVER_UNKNOWN', `no MCP server ${request.server} in the policy`);
    // Every server is listed again: shadowing is judged against what the others show now.
    await this.refresh(policy, policy.servers);
    if (!this.#observed.has(server.name))
      throw new McpFirewallError(
        'UPSTREAM_UNAVAILABLE',
        `server ${server.name} did not answer tools/list`,
      );
    const own = this.#catalog.tools.filter((t) => t.server === server.name);
    const targets = request.all ? own : own.filter((t) => t.name === request.tool);
    if (!request.all && targets.length === 0)
      throw new McpFirewallError(
        'TOOL_UNKNOWN',
        `server ${server.name} lists no tool ${label(request.tool ?? '', 128)}`,
      );
    const result: ApproveResult = { pinned: [], skipped: [] };
    for (const tool of targets) {
      const why = this.#whyNot(tool, request);
      if (why.length > 0) {
        if (!request.all) this.#refuse(tool, why, request);
        result.skipped.push({ tool: label(tool.name, 256), reasons: why });
        continue;
      }
      const version = tool.state.version!;
      const previous = toolRecordOf(this.deps.state.doc.pins, tool.server, tool.name).pinned;
      await this.deps.state.append(
        [
          {
            type: 'mcp.tool.pinned',
            aggregateId: serverAggregateId(tool.server),
            data: {
              server: tool.server,
              tool: tool.name,
              version,
              previousDigest: previous?.version.digest ?? null,
              operator: request.operator,
            },
          },
        ],
        { expectedSequence: 'any' },
      );
      result.pinned.push({
        tool: tool.name,
        digest: version.digest,
        previousDigest: previous?.version.digest ?? null,
      });
    }
    await this.#rebuild(policy);
    return result;
  }

  /** Why a tool cannot be pinned now (empty: it can). */
  #whyNot(tool: CatalogTool, request: ApproveRequest): string[] {
    const { state } = tool;
    if (state.state === 'listed') return ['already_pinned'];
    if (state.state === 'changed')
      return request.all ? ['changed_needs_own_approval'] : this.#digestCheck(tool, request);
    const codes = state.reasons.map((r) => r.code);
    const blocking = codes.filter((c) => c !== 'unpinned' && c !== 'shadowing');
    if (blocking.length > 0) return blocking;
    // Shadowing is resolved by an approval only when no other tool of the same look is approved.
    if (codes.includes('shadowing') && this.#shadowsApproved(tool)) return ['shadowing'];
    return this.#digestCheck(tool, request);
  }

  #digestCheck(tool: CatalogTool, request: ApproveRequest): string[] {
    return request.digest !== undefined && request.digest !== tool.state.version?.digest
      ? ['digest_mismatch']
      : [];
  }

  #shadowsApproved(tool: CatalogTool): boolean {
    const skeleton = nameSkeleton(tool.name);
    return this.#catalog.tools.some(
      (o) =>
        o !== tool &&
        nameSkeleton(o.name) === skeleton &&
        o.state.version !== null &&
        toolRecordOf(this.deps.state.doc.pins, o.server, o.name).pinned?.version.digest ===
          o.state.version.digest,
    );
  }

  /** The refusal of a single-tool approval, as the operator's API reports it. */
  #refuse(tool: CatalogTool, why: string[], request: ApproveRequest): never {
    const name = label(tool.name, 128);
    if (why.includes('already_pinned'))
      throw new McpFirewallError(
        'NOTHING_TO_APPROVE',
        `tool ${name} of ${request.server} is approved as it is`,
      );
    if (why.includes('digest_mismatch'))
      throw new McpFirewallError(
        'TOOL_CHANGED',
        `tool ${name} of ${request.server} now has digest ${tool.state.version?.digest ?? 'unknown'}, not the one reviewed`,
      );
    throw new McpFirewallError(
      'TOOL_REFUSED',
      `tool ${name} of ${request.server} cannot be approved: ${why.join(', ')}`,
      {
        reasons: why,
      },
    );
  }
}
