import { constants as fsConstants } from 'node:fs';
import { link, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { issueBearerToken, keyidOf, SERVICE_PORTS, type CommandReply } from '@secai/contracts';
import type { ListResponse, ShowResponse } from '@secai/incident-recorder/api';
import { verifyBundle } from '@secai/projections';
import { sendCommand } from '@secai/streams';
import type { Problem } from '@secai/streams/http';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { checkCommandRequest } from '../bounds.js';
import { commandFailure, gatewayFailure } from '../failures.js';
import { table } from '../format.js';

// `secai incident ...`. The lifecycle steps are the recorder's signed NATS commands
// (`incident-recorder.acknowledge|resolve`). list, show and export read the recorder's gateway
// (HTTP, a bearer token signed by the cli identity): the recorder is the one place where the
// incident machine runs and the export is sealed, so the CLI shows exactly what it decides on.

type Out = (line: string) => void;

export const DEFAULT_RECORDER_URL = `http://127.0.0.1:${SERVICE_PORTS['incident-recorder']}`;

/**
 * `--url`, else `$SECAI_INCIDENT_RECORDER_URL`, else the port `secai boot` recorded for the
 * recorder (it honours `--port-offset`), else the documented port on loopback.
 */
export function recorderUrl(url?: string, bootedPort?: number): string {
  const raw =
    url ??
    process.env.SECAI_INCIDENT_RECORDER_URL ??
    (bootedPort !== undefined ? `http://127.0.0.1:${bootedPort}` : DEFAULT_RECORDER_URL);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new CliError('USAGE', `${raw} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError('USAGE', `${raw} is not an http(s) URL`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new CliError('USAGE', `${raw}: no credentials, query or fragment`);
  return raw.replace(/\/+$/, '');
}

/** GET (or POST) on the recorder's gateway as the cli identity. */
async function call(
  ctx: CliContext,
  url: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<Response> {
  const token = issueBearerToken(ctx.signer, { audience: 'incident-recorder', now: new Date() });
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(60_000),
    });
  } catch (cause) {
    throw gatewayFailure(cause, url, 'incident recorder');
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as Partial<Problem>;
    throw new CliError(
      'REFUSED',
      `${res.status} ${problem.code ?? res.statusText}: ${problem.detail ?? 'the recorder refused'}`,
    );
  }
  return res;
}

export interface ListOptions {
  state?: string;
  class?: string;
  severity?: string;
  limit?: number;
  url?: string;
  json?: boolean;
}

export async function incidentList(ctx: CliContext, opts: ListOptions, out: Out): Promise<void> {
  const query = new URLSearchParams();
  if (opts.state) query.set('state', opts.state);
  if (opts.class) query.set('class', opts.class);
  if (opts.severity) query.set('severity', opts.severity);
  if (opts.limit) query.set('limit', String(opts.limit));
  const qs = query.size > 0 ? `?${query.toString()}` : '';
  const body = (await (
    await call(
      ctx,
      recorderUrl(opts.url, ctx.httpPorts['incident-recorder']),
      `/api/v1/incidents${qs}`,
    )
  ).json()) as ListResponse;
  if (opts.json) return out(JSON.stringify(body));
  if (body.incidents.length === 0) return out('no incidents');
  out(
    table(
      ['id', 'state', 'severity', 'class', 'subject', 'obs', 'opened'],
      body.incidents.map((i) => [
        i.id,
        i.state,
        i.severity,
        i.class,
        i.subject,
        String(i.observationCount),
        i.openedAt,
      ]),
    ),
  );
  if (body.total > body.incidents.length)
    out(`(${body.incidents.length} of ${body.total}; --limit shows more)`);
}

export async function incidentShow(
  ctx: CliContext,
  id: string,
  opts: { url?: string; json?: boolean },
  out: Out,
): Promise<void> {
  const body = (await (
    await call(
      ctx,
      recorderUrl(opts.url, ctx.httpPorts['incident-recorder']),
      `/api/v1/incidents/${encodeURIComponent(id)}`,
    )
  ).json()) as ShowResponse;
  if (opts.json) return out(JSON.stringify(body));
  const i = body.incident;
  out(`${i.id}  ${i.state.toUpperCase()}  ${i.severity} ${i.class}`);
  out(`subject ${i.subject}, reported by ${i.reportedBy}, opened ${i.openedAt}`);
  out(i.description);
  out(`observations: ${i.observationCount}`);
  for (const e of i.escalations) out(`escalated ${e.from} → ${e.to} by ${e.ruleId} at ${e.at}`);
  if (!i.containment.requested) out('containment: none requested');
  for (const a of i.containment.actions)
    out(
      `  ${a.status.padEnd(9)} ${a.action.padEnd(18)} ${a.target}${a.detail ? `  (${a.detail})` : ''}`,
    );
  out(
    `recovery ceremony: operator${i.ceremony.reattestRequired ? ` + attestation.verified after seq ${i.ceremony.requiredAfterSeq}` : ''}${i.ceremony.attestationEventId ? ` (attested by ${i.ceremony.attestationEventId})` : ''}`,
  );
  if (i.resolved)
    out(
      `resolved by ${i.resolved.operator} at ${i.resolved.at}${i.resolved.note ? `: ${i.resolved.note}` : ''}`,
    );
  if (i.acknowledged)
    out(
      `acknowledged by ${i.acknowledged.operator} at ${i.acknowledged.at}${i.acknowledged.note ? `: ${i.acknowledged.note}` : ''}`,
    );
  out('timeline:');
  for (const e of body.timeline) out(`  ${String(e.seq).padStart(8)}  ${e.time}  ${e.type}`);
}

export interface StepOptions {
  operator: string;
  note?: string;
  timeoutSeconds?: number;
  json?: boolean;
}

const STEP_OPTIONS = { '/incidentId': 'ID', '/operator': '--operator', '/note': '--note' };

/** `ack` / `resolve`: the signed command; a refusal (the ceremony is incomplete) exits non-zero. */
export async function incidentStep(
  ctx: CliContext,
  step: 'acknowledge' | 'resolve',
  id: string,
  opts: StepOptions,
  out: Out,
): Promise<void> {
  const operator = opts.operator.trim();
  if (operator.length < 1 || operator.length > 256)
    throw new CliError('USAGE', '--operator must name a person (1 to 256 characters)');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new CliError('USAGE', `${id} is not an incident id`);
  const command =
    step === 'resolve' ? 'incident-recorder.resolve' : 'incident-recorder.acknowledge';
  // The note is recorded in a signed event: refused when too long, never recorded cut short.
  const request = { incidentId: id, operator, note: opts.note ?? '' };
  checkCommandRequest(command, request, STEP_OPTIONS);
  let reply: CommandReply<'incident-recorder.resolve'>;
  try {
    reply = await sendCommand(ctx.nc, {
      command,
      signer: ctx.signer,
      trust: ctx.trust,
      request,
      // A resolve may wait for the runtime attestor's fresh quote (up to 35 s by default).
      timeoutMs: (opts.timeoutSeconds ?? 60) * 1000,
    });
  } catch (cause) {
    throw commandFailure(cause, 'incident recorder');
  }
  if (!reply.ok) throw new CliError('REFUSED', `${reply.code}: ${reply.message}`);
  if (opts.json) return out(JSON.stringify({ incidentId: id, state: reply.state }));
  out(`${id}: ${reply.state}`);
}

export interface ExportOptions {
  out: string;
  url?: string;
  json?: boolean;
}

/**
 * `secai incident export`: the recorder's per-incident bundle, written to a private partial
 * file, verified offline against this appliance's root (as `secai events verify --bundle`
 * does), then moved into place; an existing file is never overwritten.
 */
export async function incidentExport(
  ctx: CliContext,
  id: string,
  opts: ExportOptions,
  out: Out,
): Promise<void> {
  const res = await call(
    ctx,
    recorderUrl(opts.url, ctx.httpPorts['incident-recorder']),
    `/api/v1/incidents/${encodeURIComponent(id)}/export`,
  );
  const bytes = Buffer.from(await res.arrayBuffer());
  const partial = join(dirname(opts.out), `.${id}.${process.pid}.partial`);
  const handle = await open(
    partial,
    fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY,
    0o600,
  );
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    const report = await verifyBundle(partial, {
      expectedRootKeyid: keyidOf(ctx.trust.bundle.root),
    });
    if (!report.ok) {
      const first = report.failures[0]!;
      throw new CliError(
        'VERIFICATION_FAILED',
        `the exported bundle does not verify (seq ${first.seq} ${first.code}: ${first.message}); nothing written`,
      );
    }
    try {
      await link(partial, opts.out); // fails if the file exists: never overwritten
    } catch (cause) {
      throw new CliError('EXPORT_FAILED', `cannot write ${opts.out}: ${(cause as Error).message}`, {
        cause,
      });
    }
    const selection = (res.headers.get('secai-selection') ?? '')
      .split(',')
      .filter(Boolean)
      .map(Number);
    const summary = {
      out: opts.out,
      incidentId: id,
      fromSeq: report.header.fromSeq,
      toSeq: report.header.toSeq,
      count: report.header.count,
      selected: Number(res.headers.get('secai-selection-count') ?? selection.length),
      selection,
      sealed: report.unsealedTail === null,
      verified: true,
    };
    if (opts.json) return out(JSON.stringify(summary));
    out(
      `exported incident ${id} to ${opts.out}: ${summary.count} events (seq ${summary.fromSeq}..${summary.toSeq}), ${summary.selected} of them the incident and its causes; verified${summary.sealed ? ', sealed' : ', tail NOT sealed'}`,
    );
    out(
      'the bundle is a contiguous, seal-anchored range of the stream (the format needs it); secai events verify --bundle checks it offline',
    );
  } finally {
    await rm(partial, { force: true });
  }
}
