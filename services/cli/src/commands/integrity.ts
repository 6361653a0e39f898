import { PATH_CLASSES, type CloudEvent, type CommandReply, type EventData } from '@secai/contracts';
import { sendCommand, streamBounds } from '@secai/streams';
import type { CliContext } from '../context.js';
import { checkCommandRequest } from '../bounds.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { verifiedEvents } from '../verified.js';

type Out = (line: string) => void;
type PathClass = (typeof PATH_CLASSES)[number];
type State = EventData<'integrity.state.changed'>['to'];
type Violation = EventData<'integrity.violation.detected'> & { time: string };

/** A full scan reads every baselined file: allow for a large tree (the monitor answers after it). */
export const SCAN_TIMEOUT_MS = 120_000;
const STATE_RANK: Record<State, number> = { ok: 0, degraded: 1, recovery_required: 2 };

/** One path class as its `integrity/<pathClass>` events tell it. */
export interface IntegrityClassView {
  pathClass: PathClass;
  state: State;
  /** Since when (the last `integrity.state.changed`, or the baseline). */
  since: string | null;
  baseline: {
    entryCount: number;
    entriesDigest: string;
    at: string;
    /** `created` on first boot; the operator of the last rebaseline after that. */
    by: string;
  } | null;
  /** Violations reported since the last baseline (the newest last). */
  violations: Violation[];
}

export interface IntegrityView {
  state: State;
  classes: IntegrityClassView[];
  lastSeq: number;
}

/**
 * The integrity state of every path class, folded from the verified `integrity.*` events (the
 * same story the monitor itself folds at start): baseline, state, violations since the baseline.
 */
export function foldIntegrity(events: Iterable<{ seq: number; event: CloudEvent }>): IntegrityView {
  const classes = new Map<PathClass, IntegrityClassView>(
    PATH_CLASSES.map((c) => [
      c,
      { pathClass: c, state: 'ok', since: null, baseline: null, violations: [] },
    ]),
  );
  let lastSeq = 0;
  for (const { seq, event } of events) {
    lastSeq = Math.max(lastSeq, seq);
    const c = classes.get(event.subject.slice('integrity/'.length) as PathClass);
    if (!c) continue;
    switch (event.type) {
      case 'integrity.baseline.created': {
        const d = event.data as EventData<'integrity.baseline.created'>;
        c.baseline = {
          entryCount: d.entryCount,
          entriesDigest: d.entriesDigest,
          at: event.time,
          by: 'created',
        };
        c.since ??= event.time;
        break;
      }
      case 'integrity.rebaselined': {
        const d = event.data as EventData<'integrity.rebaselined'>;
        c.baseline = {
          entryCount: d.entryCount,
          entriesDigest: d.entriesDigest,
          at: event.time,
          by: d.operator,
        };
        c.violations = [];
        break;
      }
      case 'integrity.violation.detected':
        c.violations.push({
          ...(event.data as EventData<'integrity.violation.detected'>),
          time: event.time,
        });
        break;
      case 'integrity.state.changed': {
        const d = event.data as EventData<'integrity.state.changed'>;
        c.state = d.to;
        c.since = event.time;
        if (d.to === 'ok') c.violations = [];
        break;
      }
    }
  }
  const list = [...classes.values()];
  const state = list.reduce<State>(
    (w, c) => (STATE_RANK[c.state] > STATE_RANK[w] ? c.state : w),
    'ok',
  );
  return { state, classes: list, lastSeq };
}

async function readView(ctx: CliContext, fromSeq = 1): Promise<IntegrityView> {
  const events: { seq: number; event: CloudEvent }[] = [];
  for await (const e of verifiedEvents(ctx, { filterSubject: 'secai.evt.integrity.>', fromSeq }))
    events.push(e);
  return foldIntegrity(events);
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function fact(value: string | null): string {
  if (value === null) return '-';
  return /^sha256:[0-9a-f]{64}$/.test(value) ? `sha256:${short(value)}` : value;
}

function violationRow(v: Violation): string[] {
  return [
    v.time,
    v.pathClass,
    v.severity,
    v.kind,
    v.path,
    `${fact(v.expected)} -> ${fact(v.actual)}`,
  ];
}

/** `secai integrity status`: each path class, its baseline and the violations since it. */
export async function integrityStatus(
  ctx: CliContext,
  opts: { json?: boolean; limit?: number },
  out: Out,
): Promise<void> {
  const view = await readView(ctx);
  if (opts.json) return out(JSON.stringify(view));
  out(`integrity: ${view.state}`);
  out(
    table(
      ['class', 'state', 'since', 'entries', 'baseline', 'by', 'violations'],
      view.classes.map((c) => [
        c.pathClass,
        c.state,
        c.since ?? '-',
        c.baseline
          ? String(c.baseline.entryCount)
          : c.pathClass === 'model_file'
            ? 'registry'
            : '-',
        c.baseline ? short(c.baseline.entriesDigest) : '-',
        c.baseline?.by ?? '-',
        String(c.violations.length),
      ]),
    ),
  );
  const violations = view.classes
    .flatMap((c) => c.violations)
    .sort((a, b) => (a.time < b.time ? -1 : 1))
    .slice(-(opts.limit ?? 20));
  if (violations.length === 0) return;
  out('');
  out(
    table(
      ['detected', 'class', 'severity', 'kind', 'path', 'expected -> actual'],
      violations.map(violationRow),
    ),
  );
}

/** `secai integrity scan`: a full scan now; exit 1 when violations are open. */
export async function integrityScan(
  ctx: CliContext,
  opts: { reason: string; json?: boolean },
  out: Out,
): Promise<void> {
  checkCommandRequest('integrity-monitor.scan', { reason: opts.reason }, { '/reason': '--reason' });
  const { lastSeq } = await streamBounds(ctx.jsm, ctx.stream);
  const reply = await sendCommand(ctx.nc, {
    command: 'integrity-monitor.scan',
    signer: ctx.signer,
    trust: ctx.trust,
    request: { reason: opts.reason },
    timeoutMs: SCAN_TIMEOUT_MS,
  });
  if (!reply.ok) throw new CliError('REFUSED', `${reply.code}: ${reply.message}`);
  // What this scan reported (events appended while it ran).
  const fresh = await readView(ctx, lastSeq + 1);
  const reported = fresh.classes.flatMap((c) => c.violations);
  if (opts.json)
    out(
      JSON.stringify({ filesChecked: reply.filesChecked, violations: reply.violations, reported }),
    );
  else {
    out(`scanned ${reply.filesChecked} paths: ${reply.violations} violation(s) open`);
    if (reported.length > 0)
      out(
        table(
          ['detected', 'class', 'severity', 'kind', 'path', 'expected -> actual'],
          reported.map(violationRow),
        ),
      );
  }
  if (reply.violations > 0)
    throw new CliError(
      'VERIFICATION_FAILED',
      `${reply.violations} integrity violation(s) open (secai integrity status lists them)`,
    );
}

export interface RebaselineResult {
  reply: CommandReply<'integrity-monitor.rebaseline'>;
  accepted: EventData<'integrity.rebaselined'>[];
}

/**
 * `secai integrity rebaseline --reason ... [--operator NAME]`: the operator ceremony. The monitor
 * replaces every baseline that differs from the disk (or whose class is not ok) and records
 * `integrity.rebaselined` naming each accepted difference; this prints them.
 */
export async function integrityRebaseline(
  ctx: CliContext,
  opts: { reason: string; operator: string; json?: boolean },
  out: Out,
): Promise<RebaselineResult> {
  checkCommandRequest(
    'integrity-monitor.rebaseline',
    { reason: opts.reason, operator: opts.operator },
    { '/reason': '--reason', '/operator': '--operator' },
  );
  const { lastSeq } = await streamBounds(ctx.jsm, ctx.stream);
  const requestId = crypto.randomUUID();
  const reply = await sendCommand(ctx.nc, {
    command: 'integrity-monitor.rebaseline',
    signer: ctx.signer,
    trust: ctx.trust,
    requestId,
    request: { reason: opts.reason, operator: opts.operator },
    timeoutMs: SCAN_TIMEOUT_MS,
  });
  if (!reply.ok && reply.code === 'nothing_to_accept') {
    if (opts.json) out(JSON.stringify({ ...reply, accepted: [] }));
    else out('nothing to accept: every baseline matches the disk and every class is ok');
    return { reply, accepted: [] };
  }
  if (!reply.ok) throw new CliError('REFUSED', `${reply.code}: ${reply.message}`);
  const accepted: EventData<'integrity.rebaselined'>[] = [];
  for await (const { event } of verifiedEvents(ctx, {
    filterSubject: 'secai.evt.integrity.>',
    fromSeq: lastSeq + 1,
  }))
    if (event.type === 'integrity.rebaselined' && event.causationid === requestId)
      accepted.push(event.data as EventData<'integrity.rebaselined'>);
  if (opts.json) {
    out(JSON.stringify({ ...reply, rebaselined: accepted }));
    return { reply, accepted };
  }
  out(`rebaselined by ${opts.operator}: ${reply.differences} difference(s) accepted`);
  for (const r of accepted) {
    out(
      `  ${r.pathClass}: ${r.entryCount} entries, ${short(r.previousEntriesDigest)} -> ${short(r.entriesDigest)}, ${r.acceptedCount} accepted`,
    );
    for (const d of r.accepted)
      out(`    ${d.kind.padEnd(8)} ${d.path}  ${fact(d.expected)} -> ${fact(d.actual)}`);
    if (r.acceptedCount > r.accepted.length)
      out(`    ... and ${r.acceptedCount - r.accepted.length} more`);
  }
  return { reply, accepted };
}
