import { PATH_CLASSES, SERVICES } from '@secai/contracts';
import { runnableModels, type ServiceStatusEntry } from '@secai/projections';
import {
  openIncidentsBySeverity,
  type AttestationSummary,
  type EventRow,
  type SealSummary,
  type WatchState,
} from './fold.js';
import { col, padLine, safe, type Line, type Span, type Style } from './text.js';

/** What the watch knows about its own connection, beside what the events say. */
export interface WatchMeta {
  /** The appliance's state dir (its name on this host). */
  appliance: string;
  natsUrl: string;
  bus: 'connecting' | 'connected' | 'reconnecting' | 'disconnected';
  history: HistoryStatus;
  trust: { source: 'kv' | 'state-dir'; rootKeyid: string };
  /** A live screen (keys work) rather than one printed frame. */
  interactive?: boolean;
}

export type HistoryStatus =
  | { status: 'pending' }
  | { status: 'reading'; read: number; total: number }
  | { status: 'done'; read: number; refused: number }
  /** The dashboard identity may not read the stream (or the read failed): live events only. */
  | { status: 'unavailable'; reason: string };

export interface FrameSize {
  width: number;
  height: number;
}

/** Below this width the overview's panels are stacked instead of side by side. */
const TWO_COLUMNS_FROM = 120;
const LEFT_WIDTH = 72;

/**
 * One screen as lines (pure: state, meta, the time and the size in, lines out). Every line is
 * exactly `width` columns; there are at most `height` lines. Values that came from events are
 * made safe to print here (`safe`), whatever produced them.
 */
export function renderFrame(
  state: WatchState,
  meta: WatchMeta,
  now: Date,
  size: FrameSize,
): Line[] {
  const width = Math.max(20, size.width);
  const height = Math.max(8, size.height);
  const head = [
    titleLine(meta, now),
    attestationLine(state.attestation),
    sealLine(state.lastSeal, now),
    statusLine(state, meta),
    [],
  ];
  const services = servicesPanel(state);
  const side = [...incidentsPanel(state), [], ...integrityPanel(state), [], ...modelsPanel(state)];
  let body: Line[];
  if (width >= TWO_COLUMNS_FROM) {
    const rows = Math.max(services.length, side.length);
    body = [];
    for (let i = 0; i < rows; i++)
      body.push([...padLine(services[i] ?? [], LEFT_WIDTH), { text: '  ' }, ...(side[i] ?? [])]);
  } else {
    body = [...services, [], ...side];
  }
  // The event pane gets what is left, but never fewer than a header and three rows: on a small
  // terminal the overview is cut instead.
  const paneRows = Math.max(4, height - head.length - body.length - 1);
  const overview = [...head, ...body].slice(0, Math.max(0, height - paneRows - 1));
  const lines = [...overview, [], ...eventsPane(state.recent, paneRows - 1, width)];
  return lines.slice(0, height).map((l) => padLine(l, width));
}

function titleLine(meta: WatchMeta, now: Date): Line {
  const bus: Style = meta.bus === 'connected' ? 'green' : 'red';
  return [
    { text: ' SecAI watch ', style: 'inverse' },
    { text: `  appliance ${safe(meta.appliance)}  bus ${safe(meta.natsUrl)} ` },
    { text: meta.bus.toUpperCase(), style: bus },
    {
      text: `  ${now.toISOString().slice(0, 19).replace('T', ' ')}Z${meta.interactive ? '  (q quits)' : ''}`,
    },
  ];
}

/** The reason codes a software-mode run gives by itself (the runtime attestor's). */
const DEVELOPMENT_REASONS = new Set(['software_mode', 'mode_insufficient']);

/** The attestation in one plain sentence; anything short of attested says UNATTESTED or FAILED. */
export function describeAttestation(a: AttestationSummary | null): { text: string; style: Style } {
  if (a === null)
    return {
      text: 'UNATTESTED as far as this screen knows: no attestation event seen yet',
      style: 'red',
    };
  const host = safe(a.host);
  const reasons = a.reasons.length > 0 ? `: ${a.reasons.map(safe).join('; ')}` : '';
  if (a.mode === 'software') {
    // As `secai boot` says it: development mode is the chosen state of a host without a TPM
    // (declared, or a run whose only reasons are those of software mode), not a failure.
    const other = a.reasons.filter((r) => !DEVELOPMENT_REASONS.has(r.slice(0, r.indexOf(':'))));
    const development = a.development || (a.reasons.length > 0 && other.length === 0);
    return {
      text: `UNATTESTED (${development ? 'development mode' : 'software mode'}, host ${host}): no TPM, nothing is measured${other.length > 0 ? `; ${other.map(safe).join('; ')}` : ''}`,
      style: 'red',
    };
  }
  if (a.verdict === 'failed')
    return { text: `ATTESTATION FAILED (${a.mode} mode, host ${host})${reasons}`, style: 'red' };
  if (a.verdict === 'degraded')
    return {
      text: `ATTESTATION DEGRADED (${a.mode} mode, host ${host})${reasons}`,
      style: 'yellow',
    };
  if (a.verdict === 'enrolled')
    return {
      text: `UNATTESTED so far: enrolled in ${a.mode} mode (host ${host}), no attestation run seen yet`,
      style: 'yellow',
    };
  if (a.mode === 'evaluation')
    return {
      text: `attested in evaluation mode (software TPM, not hardware evidence), host ${host}`,
      style: 'yellow',
    };
  return { text: `attested (hardware mode, evidence verified), host ${host}`, style: 'green' };
}

function attestationLine(a: AttestationSummary | null): Line {
  const { text, style } = describeAttestation(a);
  return [
    { text: 'Attestation: ', style: 'bold' },
    { text, style },
  ];
}

/** How long ago, coarsely, for a person glancing at the screen. */
export function ago(time: string, now: Date): string {
  const ms = now.getTime() - Date.parse(time);
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

function sealLine(seal: SealSummary | null, now: Date): Line {
  if (seal === null)
    return [
      { text: 'Last seal:   ', style: 'bold' },
      { text: 'none seen yet', style: 'yellow' },
    ];
  const check: Span =
    seal.check === 'chain-verified'
      ? { text: 'chain verified', style: 'green' }
      : seal.check === 'chain-mismatch'
        ? { text: 'HEAD DOES NOT MATCH THE STORED CHAIN', style: 'red' }
        : { text: 'head not checked here (secai events verify checks it)', style: 'dim' };
  return [
    { text: 'Last seal:   ', style: 'bold' },
    {
      text: `seq ${seal.fromSeq}-${seal.toSeq} (${seal.count} events), head ${safe(seal.head).slice(0, 16)}…, ${timeOf(seal.time)} (${ago(seal.time, now)}), `,
    },
    check,
  ];
}

function historyText(h: HistoryStatus): { text: string; style?: Style } {
  switch (h.status) {
    case 'pending':
      return { text: 'history: not read yet' };
    case 'reading':
      return { text: `history: reading ${h.read}/${h.total}`, style: 'yellow' };
    case 'done':
      return {
        text: `history: ${h.read} events read${h.refused > 0 ? `, ${h.refused} refused` : ''}`,
      };
    case 'unavailable':
      return {
        text: `history: not readable (${safe(h.reason)}); live events only`,
        style: 'yellow',
      };
  }
}

function statusLine(state: WatchState, meta: WatchMeta): Line {
  const h = historyText(meta.history);
  return [
    { text: 'Shown:       ', style: 'bold' },
    { text: `${state.counts.verified} verified, ` },
    {
      text: `${state.counts.refused} REFUSED`,
      ...(state.counts.refused > 0 ? { style: 'red' as const } : {}),
    },
    { text: ' | ' },
    { text: h.text, ...(h.style ? { style: h.style } : {}) },
    {
      text: ` | trust: root ${safe(meta.trust.rootKeyid).slice(0, 8)}…, bundle ${meta.trust.source === 'kv' ? 'live from the bus' : 'from the state dir'}`,
    },
  ];
}

const STATE_STYLE: Record<ServiceStatusEntry['status'], Style | undefined> = {
  running: 'green',
  stopped: 'yellow',
  failed: 'red',
  unknown: 'dim',
};

/** Every service of the appliance (the CLI only when it has said something), then any other emitter. */
function serviceNames(state: WatchState): string[] {
  const known = SERVICES.filter((s) => s !== 'cli' || Object.hasOwn(state.services.services, s));
  const others = Object.keys(state.services.services)
    .filter((s) => !(SERVICES as readonly string[]).includes(s))
    .sort();
  return [...known, ...others];
}

function servicesPanel(state: WatchState): Line[] {
  const lines: Line[] = [
    [{ text: 'SERVICES', style: 'bold' }],
    [
      {
        text: `${col('SERVICE', 20)}${col('STATE', 9)}${col('PID', 8)}${col('LAST EVENT', 27)}AT`,
        style: 'dim',
      },
    ],
  ];
  for (const name of serviceNames(state)) {
    const entry = Object.hasOwn(state.services.services, name)
      ? state.services.services[name]
      : undefined;
    // `unknown` is the projection's word for a service it has heard of but not seen start.
    const status = entry?.status ?? 'not seen';
    const style = entry ? STATE_STYLE[entry.status] : 'dim';
    lines.push([
      { text: col(safe(name), 20) },
      { text: col(status, 9), ...(style ? { style } : {}) },
      { text: col(entry?.pid !== undefined ? String(entry.pid) : '-', 8) },
      { text: col(entry ? safe(entry.lastType) : '-', 27) },
      { text: entry ? timeOf(entry.lastTime) : '-' },
    ]);
  }
  return lines;
}

const SEVERITY_STYLE: Record<string, Style> = {
  critical: 'red',
  high: 'red',
  medium: 'yellow',
  low: 'dim',
};

function incidentsPanel(state: WatchState): Line[] {
  const counts = openIncidentsBySeverity(state.incidents);
  const total = counts.reduce((n, c) => n + c.count, 0);
  return [
    [{ text: `OPEN INCIDENTS (${total})`, style: 'bold' }],
    counts.flatMap(({ severity, count }, i): Span[] => [
      ...(i > 0 ? [{ text: '  ' }] : []),
      {
        text: `${severity} ${count}`,
        ...(count > 0 ? { style: SEVERITY_STYLE[severity] ?? 'bold' } : { style: 'dim' as const }),
      },
    ]),
  ];
}

const INTEGRITY_STYLE: Record<string, Style> = {
  ok: 'green',
  degraded: 'yellow',
  recovery_required: 'red',
};

function integrityPanel(state: WatchState): Line[] {
  const lines: Line[] = [[{ text: 'INTEGRITY', style: 'bold' }]];
  for (const pathClass of PATH_CLASSES) {
    const s = Object.hasOwn(state.integrity, pathClass) ? state.integrity[pathClass] : undefined;
    lines.push([
      { text: col(pathClass, 17) },
      s
        ? {
            text: `${s.state}${s.violationCount > 0 ? ` (${s.violationCount} violations)` : ''}`,
            style: INTEGRITY_STYLE[s.state] ?? 'bold',
          }
        : { text: 'no event seen', style: 'dim' },
    ]);
  }
  return lines;
}

const MODELS_SHOWN = 6;

function modelsPanel(state: WatchState): Line[] {
  const available = runnableModels(state.models);
  const lines: Line[] = [[{ text: `MODELS AVAILABLE (${available.length})`, style: 'bold' }]];
  if (available.length === 0) lines.push([{ text: 'none', style: 'dim' }]);
  for (const m of available.slice(0, MODELS_SHOWN))
    lines.push([
      { text: `${col(safe(m.name), 24)} ${safe(m.digest).slice(0, 19)}…  ${safe(m.format)}` },
    ]);
  if (available.length > MODELS_SHOWN)
    lines.push([{ text: `… and ${available.length - MODELS_SHOWN} more`, style: 'dim' }]);
  return lines;
}

/** `HH:MM:SS` of an ISO time (UTC, as events are stamped), or the text itself cut. */
function timeOf(time: string): string {
  const m = /T(\d\d:\d\d:\d\d)/.exec(time);
  return m ? m[1]! : safe(time).slice(0, 8);
}

const COLUMNS = { time: 10, seq: 8, verdict: 28, type: 34, subject: 40 };

function eventsPane(recent: readonly EventRow[], rows: number, width: number): Line[] {
  const header: Line = [
    {
      text: `${col('TIME', COLUMNS.time)}${col('SEQ', COLUMNS.seq)}${col('VERDICT', COLUMNS.verdict)}${col('TYPE', COLUMNS.type)}${col('SUBJECT', COLUMNS.subject)}EMITTER`,
      style: 'dim',
    },
  ];
  const title: Line = [{ text: 'EVENTS (live, newest last)', style: 'bold' }];
  const shown = recent.slice(Math.max(0, recent.length - Math.max(0, rows - 1)));
  const lines = [title, header, ...shown.map(eventLine)];
  return lines.slice(0, rows + 1).map((l) => padLine(l, width));
}

/** One event row. A refused one shows its code and, plainly marked, what it claims. */
export function eventLine(row: EventRow): Line {
  const seq = col(row.seq === null ? '-' : String(row.seq), COLUMNS.seq);
  if (row.verdict === 'VERIFIED')
    return [
      { text: col(timeOf(row.time), COLUMNS.time) },
      { text: seq },
      { text: col('VERIFIED', COLUMNS.verdict), style: 'green' },
      { text: col(safe(row.type), COLUMNS.type) },
      { text: col(safe(row.subject), COLUMNS.subject) },
      { text: safe(row.emitter) },
    ];
  const c = row.claims;
  const claims = [
    c.type !== undefined ? `type ${safe(c.type)}` : null,
    c.subject !== undefined ? `subject ${safe(c.subject)}` : null,
    c.source !== undefined ? `source ${safe(c.source)}` : null,
    c.keyid !== undefined ? `keyid ${safe(c.keyid).slice(0, 12)}…` : null,
  ].filter((x): x is string => x !== null);
  return [
    { text: col(timeOf(row.receivedAt), COLUMNS.time) },
    { text: seq },
    { text: col(`REFUSED ${safe(row.code)}`, COLUMNS.verdict), style: 'red' },
    {
      text: `on ${safe(row.natsSubject)}; unverified claims: ${claims.length > 0 ? claims.join(', ') : 'none readable'}`,
      style: 'dim',
    },
  ];
}
