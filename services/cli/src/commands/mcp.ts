import type { Readable, Writable } from 'node:stream';
import {
  ApproveRequest,
  ClearTaintRequest,
  type ApproveBody,
  type ServersBody,
  type SessionsBody,
  type ToolsBody,
} from '@secai/mcp-firewall/api';
import { relayStdio } from '@secai/mcp-firewall/relay';
import type { CliContext } from '../context.js';
import { checkBounds } from '../bounds.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { callGateway, gatewayUrlOf, tokenFor, type Gateway } from './gateway.js';

// `secai mcp servers|tools|sessions|approve|clear-taint|stdio`: the MCP firewall (8496) from the
// operator's side, as the cli identity. Approving pins the version of a tool the upstream shows
// now (the firewall lists it again first); `stdio` relays a locally launched MCP client to the
// firewall, so a desktop app that only launches commands still goes through every gate.

type Out = (line: string) => void;

export const MCP_FIREWALL: Gateway = {
  service: 'mcp-firewall',
  label: 'MCP firewall',
  envVar: 'SECAI_MCP_FIREWALL_URL',
};

const short = (digest: string | null | undefined) =>
  digest ? digest.slice(0, 'sha256:'.length + 12) : '-';

/** The servers as lines for a person (pure). */
export function serversLines(body: ServersBody): string[] {
  if (body.problem !== null)
    return [`no MCP policy in force: ${body.problem} (every call is refused)`];
  if (body.servers.length === 0) return ['the policy names no MCP server (every call is refused)'];
  return [
    `policy ${short(body.policyDigest)}`,
    table(
      ['server', 'trust', 'transport', 'listed', 'refused', 'changed', 'endpoint'],
      body.servers.map((s) => [
        s.name,
        s.trust,
        s.transport,
        String(s.tools.listed),
        String(s.tools.refused),
        String(s.tools.changed),
        s.endpoint,
      ]),
    ),
  ];
}

/** The tools as lines (pure): what is listed, and why the rest is not. */
export function toolsLines(body: ToolsBody): string[] {
  if (body.tools.length === 0)
    return [
      'no upstream tool observed yet (a client listing tools, or secai mcp approve, lists them)',
    ];
  return [
    table(
      ['server', 'tool', 'state', 'observed', 'pinned', 'why'],
      body.tools.map((t) => [
        t.server,
        t.name,
        t.state,
        short(t.observed?.digest),
        t.pinned ? `${short(t.pinned.version.digest)} by ${t.pinned.operator}` : '-',
        t.state === 'changed'
          ? 'changed since approved'
          : t.reasons.map((r) => r.code).join(', ') || '-',
      ]),
    ),
  ];
}

/** The sessions as lines (pure). */
export function sessionsLines(body: SessionsBody): string[] {
  if (body.sessions.length === 0) return ['no MCP session'];
  return [
    table(
      ['session', 'caller', 'client', 'taint', 'state', 'last change'],
      body.sessions.map((s) => [
        s.id,
        s.caller,
        s.client.name,
        s.taint.map((t) => t.label).join(',') || '-',
        s.closedAt ? 'closed' : s.connected ? 'connected' : 'resumable',
        s.lastAt,
      ]),
    ),
  ];
}

/** The approval as lines (pure). */
export function approveLines(body: ApproveBody): string[] {
  return [
    ...body.pinned.map(
      (p) =>
        `pinned ${p.tool} at ${short(p.digest)}${p.previousDigest ? ` (was ${short(p.previousDigest)})` : ''}`,
    ),
    ...body.skipped.map((s) => `not pinned ${s.tool}: ${s.reasons.join(', ')}`),
    ...(body.pinned.length === 0 && body.skipped.length === 0 ? ['the server lists no tool'] : []),
  ];
}

const APPROVE_OPTIONS = {
  '/server': 'SERVER',
  '/tool': 'TOOL',
  '/digest': '--digest',
  '/operator': '--operator',
};

/** The approval request, held to the firewall's contract before anything is sent (pure). */
export function approveRequest(
  server: string,
  tool: string | undefined,
  o: { all?: boolean; digest?: string; operator: string },
) {
  const request = {
    server,
    operator: o.operator,
    ...(tool !== undefined ? { tool } : {}),
    ...(o.all ? { all: true } : {}),
    ...(o.digest !== undefined ? { digest: o.digest } : {}),
  };
  checkBounds('the approval', ApproveRequest, request, APPROVE_OPTIONS);
  if ((tool === undefined) === !o.all)
    throw new CliError(
      'USAGE',
      'name one TOOL, or --all for every new tool of the server (not both)',
    );
  return request;
}

/** The taint clearance, held to the contract (pure). */
export function clearTaintRequest(o: { operator: string; reason: string; labels?: string[] }) {
  const request = {
    operator: o.operator,
    reason: o.reason,
    ...(o.labels && o.labels.length > 0 ? { labels: o.labels } : {}),
  };
  checkBounds('the clearance', ClearTaintRequest, request, {
    '/operator': '--operator',
    '/reason': '--reason',
    '/labels': '--label',
    ...Object.fromEntries((o.labels ?? []).map((_, i) => [`/labels/${i}`, '--label'])),
  });
  return request;
}

async function get<T>(ctx: CliContext, url: string | undefined, path: string): Promise<T> {
  const base = gatewayUrlOf(ctx, MCP_FIREWALL, url);
  return (await (await callGateway(ctx, MCP_FIREWALL, base, path)).json()) as T;
}

export async function mcpServers(ctx: CliContext, o: { url?: string; json?: boolean }, out: Out) {
  const body = await get<ServersBody>(ctx, o.url, '/api/v1/servers');
  if (o.json) return out(JSON.stringify(body));
  for (const line of serversLines(body)) out(line);
}

export async function mcpTools(
  ctx: CliContext,
  o: { url?: string; json?: boolean; server?: string },
  out: Out,
) {
  const query = o.server ? `?server=${encodeURIComponent(o.server)}` : '';
  const body = await get<ToolsBody>(ctx, o.url, `/api/v1/tools${query}`);
  if (o.json) return out(JSON.stringify(body));
  for (const line of toolsLines(body)) out(line);
}

export async function mcpSessions(ctx: CliContext, o: { url?: string; json?: boolean }, out: Out) {
  const body = await get<SessionsBody>(ctx, o.url, '/api/v1/sessions');
  if (o.json) return out(JSON.stringify(body));
  for (const line of sessionsLines(body)) out(line);
}

export async function mcpApprove(
  ctx: CliContext,
  request: ReturnType<typeof approveRequest>,
  o: { url?: string; json?: boolean },
  out: Out,
) {
  const base = gatewayUrlOf(ctx, MCP_FIREWALL, o.url);
  const res = await callGateway(ctx, MCP_FIREWALL, base, '/api/v1/approve', {
    method: 'POST',
    body: request,
  });
  const body = (await res.json()) as ApproveBody;
  if (o.json) return out(JSON.stringify(body));
  for (const line of approveLines(body)) out(line);
}

export async function mcpClearTaint(
  ctx: CliContext,
  session: string,
  request: ReturnType<typeof clearTaintRequest>,
  o: { url?: string; json?: boolean },
  out: Out,
) {
  const base = gatewayUrlOf(ctx, MCP_FIREWALL, o.url);
  const res = await callGateway(
    ctx,
    MCP_FIREWALL,
    base,
    `/api/v1/sessions/${encodeURIComponent(session)}/taint`,
    { method: 'DELETE', body: request },
  );
  const body = (await res.json()) as { session: string; cleared: string[] };
  if (o.json) return out(JSON.stringify(body));
  out(`cleared ${body.cleared.join(', ')} from ${body.session}`);
}

/**
 * Relays MCP on this process's stdin/stdout to the firewall until either side closes. Only MCP
 * goes to stdout; what a person should know goes to `err` (stderr).
 */
export async function mcpStdio(
  ctx: CliContext,
  o: { url?: string; session?: string; stdin?: Readable; stdout?: Writable },
  err: Out,
): Promise<void> {
  const base = gatewayUrlOf(ctx, MCP_FIREWALL, o.url);
  const relay = await relayStdio({
    url: base,
    token: () => tokenFor(ctx, MCP_FIREWALL),
    ...(o.session !== undefined ? { session: o.session } : {}),
    ...(o.stdin ? { stdin: o.stdin } : {}),
    ...(o.stdout ? { stdout: o.stdout } : {}),
    onSession: (id) =>
      err(
        `secai: MCP firewall session ${id} (resume it after a restart: secai mcp stdio --session ${id})`,
      ),
    onError: (e) => err(`secai: ${e.message}`),
  });
  await relay.closed;
}
