import {
  BaselineRequest,
  type BaselineResponse,
  type CheckResponse,
  type StatusResponse,
} from '@secai/gpu-integrity-watch/api';
import type { CliContext } from '../context.js';
import { checkBounds } from '../bounds.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { GPU_WATCH, callGateway, gatewayUrlOf } from './gateway.js';

// `secai gpu status|check|baseline`: the GPU integrity watch's routes, as the cli identity.
// `check` runs a cycle now and exits 1 unless the verdict is healthy (as `events verify` does
// for the chain); `baseline` is the operator ceremony, recorded as gpu.baseline.captured with
// the person and the reason, so both are required.

type Out = (line: string) => void;
type Probe = StatusResponse['probes'][number];
type Anomaly = StatusResponse['anomalies'][number];

const score = (n: number | null) => (n === null ? '-' : n.toFixed(3));
const short = (digest: string | null) => (digest === null ? '-' : digest.slice(0, 23));

/** The probes as a table, each with its first finding (pure). */
export function probeTable(probes: readonly Probe[]): string {
  return table(
    ['probe', 'status', 'anomaly', 'ms', 'finding'],
    probes.map((p) => {
      const first = p.findings[0];
      const more = p.findings.length > 1 ? ` (+${p.findings.length - 1} more)` : '';
      return [
        p.probe,
        p.status.toUpperCase(),
        score(p.score),
        String(p.durationMs),
        first ? `${first.severity}: ${first.description}${more}` : '',
      ];
    }),
  );
}

function anomalyTable(anomalies: readonly Anomaly[]): string {
  return table(
    ['kind', 'severity', 'model', 'probes', 'reported', 'summary'],
    anomalies.map((a) => [
      a.kind,
      a.severity,
      short(a.model),
      a.failedProbes.join(','),
      a.reported ? 'yes' : 'no',
      a.summary,
    ]),
  );
}

/** `secai gpu status` for a person (pure). */
export function gpuStatusLines(s: StatusResponse): string[] {
  const trend = `${s.trend >= 0 ? '+' : ''}${s.trend.toFixed(3)}`;
  const lines = [
    `host ${s.host}: ${s.verdict.toUpperCase()} (anomaly score ${score(s.composite)}), cycle ${s.cycle}${s.lastCycleAt ? ` at ${s.lastCycleAt}` : ' (none yet)'}, trend ${trend}${s.nextCycleAt ? `; next cycle at ${s.nextCycleAt}` : ''}`,
  ];
  const p = s.policy;
  lines.push(
    p.active
      ? `policy ${p.digest ?? '-'}${p.intervalSeconds !== null ? `, a cycle every ${p.intervalSeconds} s` : ''}${p.disabledProbes.length > 0 ? `, probes off: ${p.disabledProbes.join(', ')}` : ''}`
      : `no policy: no cycle runs${p.problem ? ` (${p.problem})` : ''}`,
  );
  const b = s.baseline;
  if (b === null)
    lines.push(
      'baseline: none (secai gpu baseline --operator NAME --reason TEXT records one; first loads capture their sentinels)',
    );
  else {
    lines.push(
      `baseline ${b.eventId} captured ${b.capturedAt} by ${b.operator}: ${b.reason}; ${b.sentinels} sentinel${b.sentinels === 1 ? '' : 's'}, ${b.tensorHashes} tensor hash${b.tensorHashes === 1 ? '' : 'es'}`,
    );
    if (b.host)
      lines.push(
        `  host at ${b.host.capturedAt}: driver ${b.host.driver ? `${b.host.driver.module} ${b.host.driver.version}` : 'none'}, devices ${b.host.devices.length > 0 ? b.host.devices.join(', ') : 'none'}`,
      );
  }
  if (s.probes.length > 0) lines.push(probeTable(s.probes));
  if (s.anomalies.length === 0) lines.push('anomalies: none');
  else {
    lines.push(`anomalies: ${s.anomalies.length} (${s.anomaliesReported} reported)`);
    lines.push(anomalyTable(s.anomalies));
  }
  return lines;
}

/** `secai gpu check` for a person (pure). */
export function gpuCheckLines(c: CheckResponse): string[] {
  const lines = [
    `cycle ${c.cycle} (${c.trigger}) at ${c.at}: ${c.verdict.toUpperCase()} (anomaly score ${score(c.composite)}), recorded as ${c.eventId}`,
    probeTable(c.probes),
  ];
  if (c.reported.length > 0) {
    lines.push(`anomalies reported: ${c.reported.length}`);
    for (const a of c.reported)
      lines.push(
        `  ${a.severity} ${a.kind}${a.model ? ` on ${short(a.model)}` : ''} (${a.failedProbes.join(', ')}): ${a.summary}`,
      );
  }
  if (c.ongoing > 0) lines.push(`ongoing anomalies already reported: ${c.ongoing}`);
  return lines;
}

/** `secai gpu baseline` for a person (pure). */
export function gpuBaselineLines(b: BaselineResponse): string[] {
  const lines = [
    `baseline recorded as ${b.eventId} at ${b.capturedAt} by ${b.operator}: ${b.tensorHashes} tensor hash${b.tensorHashes === 1 ? '' : 'es'}, sentinels of ${b.sentinels.length} loaded model${b.sentinels.length === 1 ? '' : 's'}`,
  ];
  for (const s of b.sentinels) lines.push(`  sentinel ${short(s.model)}: ${s.tokens} tokens`);
  if (b.notLoaded.length > 0)
    lines.push(
      `not loaded, no sentinel yet (captured at first load): ${b.notLoaded.map(short).join(', ')}`,
    );
  for (const s of b.skipped) lines.push(`  skipped ${short(s.model)}: ${s.reason}`);
  lines.push(
    `driver ${b.driver ? `${b.driver.module} ${b.driver.version}` : 'none'}; devices ${b.devices.length > 0 ? b.devices.join(', ') : 'none'}`,
  );
  return lines;
}

/** The ceremony's request, held to the watch's contract before anything is sent (pure). */
export function baselineRequest(operator: string, reason: string): BaselineRequest {
  const request = { operator, reason };
  checkBounds('the baseline ceremony', BaselineRequest, request, {
    '/operator': '--operator',
    '/reason': '--reason',
  });
  if (operator.trim() === '' || reason.trim() === '')
    throw new CliError('USAGE', '--operator and --reason must say something (they are recorded)');
  return request;
}

interface GpuOptions {
  url?: string;
  json?: boolean;
  timeoutSeconds?: number;
}

export async function gpuStatus(ctx: CliContext, opts: GpuOptions, out: Out): Promise<void> {
  const url = gatewayUrlOf(ctx, GPU_WATCH, opts.url);
  const body = (await (
    await callGateway(ctx, GPU_WATCH, url, '/api/v1/status')
  ).json()) as StatusResponse;
  if (opts.json) return out(JSON.stringify(body));
  for (const line of gpuStatusLines(body)) out(line);
}

/** A cycle now; exit 1 unless it is healthy. */
export async function gpuCheck(ctx: CliContext, opts: GpuOptions, out: Out): Promise<void> {
  const url = gatewayUrlOf(ctx, GPU_WATCH, opts.url);
  const body = (await (
    await callGateway(ctx, GPU_WATCH, url, '/api/v1/check', {
      method: 'POST',
      ...(opts.timeoutSeconds !== undefined ? { timeoutMs: opts.timeoutSeconds * 1000 } : {}),
    })
  ).json()) as CheckResponse;
  if (opts.json) out(JSON.stringify(body));
  else for (const line of gpuCheckLines(body)) out(line);
  if (body.verdict !== 'healthy')
    throw new CliError(
      'VERIFICATION_FAILED',
      `the GPU integrity check says ${body.verdict} (anomaly score ${score(body.composite)})`,
    );
}

export async function gpuBaseline(
  ctx: CliContext,
  request: BaselineRequest,
  opts: GpuOptions,
  out: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, GPU_WATCH, opts.url);
  const body = (await (
    await callGateway(ctx, GPU_WATCH, url, '/api/v1/baseline', {
      method: 'POST',
      body: request,
      ...(opts.timeoutSeconds !== undefined ? { timeoutMs: opts.timeoutSeconds * 1000 } : {}),
    })
  ).json()) as BaselineResponse;
  if (opts.json) return out(JSON.stringify(body));
  for (const line of gpuBaselineLines(body)) out(line);
}
