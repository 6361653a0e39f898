import { decisionsIn } from '../contracts.js';
import type { QuarantineView, StageName } from './quarantine.js';
import { serviceOfSource, type Seen } from './types.js';

// What the plots show: events per minute by zone (ARCHITECTURE §2), decisions allowed/denied per
// minute, and how long each quarantine stage takes. Minutes come from the events' own time.

export const ZONES = [
  'acquisition',
  'quarantine',
  'runtime',
  'agent',
  'enforcement',
  'user',
  'tooling',
] as const;
export type Zone = (typeof ZONES)[number];

const ZONE_OF: Readonly<Record<string, Zone>> = {
  airlock: 'acquisition',
  quarantine: 'quarantine',
  registry: 'runtime',
  inference: 'runtime',
  'tool-firewall': 'runtime',
  'mcp-firewall': 'runtime',
  'search-mediator': 'runtime',
  agent: 'agent',
  'policy-engine': 'enforcement',
  'runtime-attestor': 'enforcement',
  'integrity-monitor': 'enforcement',
  'incident-recorder': 'enforcement',
  'gpu-integrity-watch': 'enforcement',
  ui: 'user',
  cli: 'tooling',
  appliance: 'tooling',
};

export function zoneOf(service: string | null): Zone {
  return (
    (service !== null && Object.hasOwn(ZONE_OF, service) ? ZONE_OF[service] : undefined) ??
    'tooling'
  );
}

export interface MinuteBucket {
  /** Minute start, in ms since the epoch. */
  minute: number;
  zones: Readonly<Record<Zone, number>>;
  allow: number;
  deny: number;
  ask: number;
}

export interface MetricsView {
  /** At most MAX_MINUTES buckets, oldest first; minutes without events have none. */
  buckets: readonly MinuteBucket[];
}

export const MAX_MINUTES = 240;
const MINUTE = 60_000;

export const initialMetrics = (): MetricsView => ({ buckets: [] });

export function foldMetrics(view: MetricsView, e: Seen): MetricsView {
  const at = Date.parse(e.event.time);
  if (!Number.isFinite(at)) return view;
  const minute = Math.floor(at / MINUTE) * MINUTE;
  const buckets = view.buckets.slice();
  let i = buckets.length - 1;
  while (i >= 0 && buckets[i]!.minute > minute) i--;
  if (i < 0 || buckets[i]!.minute !== minute) {
    if (buckets.length >= MAX_MINUTES && i < 0) return view; // older than the plotted window
    buckets.splice(i + 1, 0, emptyBucket(minute));
    i += 1;
  }
  const bucket = buckets[i]!;
  const zone = zoneOf(serviceOfSource(e.event.source));
  const next: MinuteBucket = {
    ...bucket,
    zones: { ...bucket.zones, [zone]: bucket.zones[zone] + 1 },
  };
  for (const { data } of decisionsIn(e.event)) next[data.decision] += 1;
  buckets[i] = next;
  return { buckets: buckets.length > MAX_MINUTES ? buckets.slice(-MAX_MINUTES) : buckets };
}

function emptyBucket(minute: number): MinuteBucket {
  const zones = Object.fromEntries(ZONES.map((z) => [z, 0])) as Record<Zone, number>;
  return { minute, zones, allow: 0, deny: 0, ask: 0 };
}

/** Every minute from the first bucket to the last (gaps as zero), for a time axis. */
export function continuousMinutes(view: MetricsView): MinuteBucket[] {
  const first = view.buckets[0];
  const last = view.buckets.at(-1);
  if (!first || !last) return [];
  const byMinute = new Map(view.buckets.map((b) => [b.minute, b]));
  const out: MinuteBucket[] = [];
  for (let m = first.minute; m <= last.minute; m += MINUTE)
    out.push(byMinute.get(m) ?? emptyBucket(m));
  return out;
}

/** uPlot data: x in seconds, then one series per zone. */
export function eventsPerMinuteByZone(view: MetricsView): number[][] {
  const minutes = continuousMinutes(view);
  return [minutes.map((b) => b.minute / 1000), ...ZONES.map((z) => minutes.map((b) => b.zones[z]))];
}

/** uPlot data: x in seconds, allowed, denied, asked per minute. */
export function decisionsPerMinute(view: MetricsView): number[][] {
  const minutes = continuousMinutes(view);
  return [
    minutes.map((b) => b.minute / 1000),
    minutes.map((b) => b.allow),
    minutes.map((b) => b.deny),
    minutes.map((b) => b.ask),
  ];
}

export interface StageTime {
  stage: StageName;
  runs: number;
  meanMs: number;
  maxMs: number;
  lastMs: number;
}

/** Per stage that finished at least once in the window: how long it took. */
export function stageTimes(view: QuarantineView): StageTime[] {
  const byStage = new Map<StageName, number[]>();
  for (const run of view.runs) {
    for (const s of run.stages) {
      if (s.durationMs === undefined) continue;
      const list = byStage.get(s.stage) ?? [];
      list.push(s.durationMs);
      byStage.set(s.stage, list);
    }
  }
  return [...byStage].map(([stage, times]) => ({
    stage,
    runs: times.length,
    meanMs: Math.round(times.reduce((a, b) => a + b, 0) / times.length),
    maxMs: Math.max(...times),
    lastMs: times.at(-1)!,
  }));
}
