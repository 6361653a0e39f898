import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  INCIDENT_CLASSES,
  INCIDENT_SEVERITIES,
  type DocumentProblem,
  type ServiceName,
  type TrustStore,
} from '@secai/contracts';
import {
  createGateway,
  sendProblem,
  type BusHealth,
  type BusWatch,
  type Logger,
} from '@secai/streams';
import {
  INCIDENT_STATES,
  ROUTES,
  type HealthResponse,
  type IdParams,
  type ListQuery,
  type PolicyInvalidProblem,
  type ShowResponse,
  type StatsResponse,
  type StepBody,
} from './api.js';
import type { IncidentBook } from './book.js';
import type { RefusalCode } from './decider.js';
import { ExportError, type IncidentExport } from './export.js';
import type { LagSample } from './intake.js';
import { isActive } from './machine.js';
import type { IncidentPolicy } from './policy/schema.js';
import type { IncidentRecorder, StepOutcome } from './recorder.js';
import { byPriority, incidentView } from './view.js';

/**
 * Who may call what (ARCHITECTURE §2); the forensic export is for operators' tools only: the CLI
 * and the UI (which relays it to a logged-in operator's browser as a download).
 */
export const SCOPES = {
  read: ['ui', 'cli', 'appliance'],
  operate: ['ui', 'cli'],
  forensic: ['cli', 'ui'],
} as const satisfies Record<string, readonly ServiceName[]>;

export { INCIDENT_STATES };

export interface HttpDeps {
  book: Pick<IncidentBook, 'all' | 'anomalies' | 'load' | 'get'>;
  recorder: Pick<IncidentRecorder, 'resolve' | 'acknowledge'>;
  policy: () => { policy: IncidentPolicy; digest: string; path: string };
  reload: () => Promise<
    { ok: true; digest: string; changed: boolean } | { ok: false; problems: DocumentProblem[] }
  >;
  exportIncident: (id: string) => Promise<IncidentExport>;
  chain: () => {
    lastSeq: number;
    sealedToSeq: number;
    head: string;
    mismatches: number;
    ok: boolean;
  };
  /** The observation intake: lag of the lanes, the bus, and whether that is healthy. */
  intake: () => {
    lag: LagSample | null;
    maxLag: number;
    bus: BusHealth;
    ok: boolean;
    reasons: string[];
  };
  /**
   * The bus connection (`watchBus(nc)`): while it is down, routes that need it (show, export,
   * resolve, acknowledge, reload) answer 503 `BUS_UNAVAILABLE` at once, as every gateway does.
   */
  bus: BusWatch;
  trust: TrustStore;
  log?: Logger;
  now?: () => Date;
}

const STATUS: Record<RefusalCode, number> = {
  incident_unknown: 404,
  incident_exists: 409,
  incident_closed: 409,
  containment_in_progress: 409,
  reattestation_required: 409,
  not_resolved: 409,
  operator_invalid: 400,
};

/**
 * The recorder's gateway on 127.0.0.1:8515: incidents (list, show with the full timeline,
 * resolve, acknowledge, stats), the per-incident forensic export, a policy reload, and the
 * public health. Every error is a problem document with a stable code.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'incident-recorder',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    routes: (api) => routes(api, deps),
  });
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  const views = () => {
    const { policy } = deps.policy();
    return deps.book.all().map(([id, record]) => incidentView(id, record, policy));
  };
  const unknown = (reply: FastifyReply, id: string) =>
    sendProblem(reply, 404, 'INCIDENT_UNKNOWN', `no incident ${id}`);

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const chain = deps.chain();
    const all = deps.book.all();
    const anomalies = deps.book.anomalies();
    const intake = deps.intake();
    const body: HealthResponse = {
      status: chain.ok && anomalies === 0 && intake.ok ? 'ok' : 'degraded',
      chain: {
        lastSeq: chain.lastSeq,
        sealedToSeq: chain.sealedToSeq,
        head: chain.head,
        mismatches: chain.mismatches,
      },
      incidents: {
        total: all.length,
        open: all.filter(([, r]) => isActive(r.snapshot)).length,
        anomalies,
      },
      lag: {
        total: intake.lag?.total ?? null,
        max: intake.maxLag,
        sampledAt: intake.lag?.at ?? null,
        consumers: (intake.lag?.consumers ?? []).map((c) => ({
          durable: c.durable,
          lag: c.lag,
          ackFloor: c.ackFloor,
          ackPending: c.ackPending,
        })),
      },
      bus: intake.bus,
      reasons: intake.reasons,
      policyDigest: deps.policy().digest,
    };
    return reply.send(body);
  });

  app.get<{ Querystring: ListQuery }>(
    '/api/v1/incidents',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.list },
    (request, reply) => {
      const q = request.query;
      const matching = views()
        .filter(
          (v) =>
            (q.class === undefined || v.class === q.class) &&
            (q.state === undefined || v.state === q.state) &&
            (q.severity === undefined || v.severity === q.severity) &&
            (q.subject === undefined || v.subject === q.subject),
        )
        .sort(byPriority);
      const limit = q.limit === undefined ? 200 : Number(q.limit);
      return reply.send({ incidents: matching.slice(0, limit), total: matching.length });
    },
  );

  app.get<{ Params: IdParams }>(
    '/api/v1/incidents/:id',
    { config: { scope: 'read' }, schema: ROUTES.show },
    async (request, reply) => {
      const { id } = request.params;
      const { record, events } = await deps.book.load(id);
      if (record.lastSequence === 0) return unknown(reply, id);
      const body: ShowResponse = {
        incident: incidentView(id, record, deps.policy().policy),
        timeline: events.map((e) => ({
          seq: e.seq,
          id: e.id,
          type: e.type,
          time: e.time,
          data: e.data,
        })),
      };
      return reply.send(body);
    },
  );

  const step = (kind: 'resolve' | 'acknowledge') =>
    app.post<{ Params: IdParams; Body: StepBody }>(
      `/api/v1/incidents/:id/${kind}`,
      { config: { scope: 'operate' }, schema: ROUTES.step },
      async (request, reply) => {
        const { id } = request.params;
        const args = { operator: request.body.operator, note: request.body.note ?? '' };
        const outcome: StepOutcome =
          kind === 'resolve'
            ? await deps.recorder.resolve(id, args)
            : await deps.recorder.acknowledge(id, args);
        if (outcome.refusal) {
          const { code, message } = outcome.refusal;
          return sendProblem(reply, STATUS[code], code.toUpperCase(), message);
        }
        const record = deps.book.get(id)!;
        return reply.send({ incident: incidentView(id, record, deps.policy().policy) });
      },
    );
  step('resolve');
  step('acknowledge');

  app.get<{ Params: IdParams }>(
    '/api/v1/incidents/:id/export',
    { config: { scope: 'forensic' }, schema: ROUTES.export },
    async (request, reply) => {
      const { id } = request.params;
      let exported: IncidentExport;
      try {
        exported = await deps.exportIncident(id);
      } catch (err) {
        if (err instanceof ExportError)
          return err.code === 'INCIDENT_UNKNOWN'
            ? unknown(reply, id)
            : sendProblem(reply, 413, err.code, err.message);
        throw err;
      }
      const { header } = exported;
      return reply
        .header('content-type', 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="incident-${id}.bundle.jsonl"`)
        .header('secai-bundle-from-seq', String(header.fromSeq))
        .header('secai-bundle-to-seq', String(header.toSeq))
        .header('secai-bundle-sealed', String(exported.sealed))
        .header('secai-selection-count', String(exported.selection.length))
        .header('secai-selection', exported.selection.join(',').slice(0, 4096))
        .send(exported.bytes);
    },
  );

  app.get(
    '/api/v1/stats',
    { config: { scope: 'read', busOptional: true }, schema: ROUTES.stats },
    (_req, reply) => {
      const records = deps.book.all();
      const { policy } = deps.policy();
      const all = records.map(([id, record]) => incidentView(id, record, policy));
      // Active as the machine defines it (one definition: `isActive`), not a second list here.
      const active = all.filter((_v, i) => isActive(records[i]![1].snapshot));
      const count = <K extends string>(
        keys: readonly K[],
        of: (v: (typeof all)[number]) => string,
        among = all,
      ) =>
        Object.fromEntries(keys.map((k) => [k, among.filter((v) => of(v) === k).length])) as Record<
          K,
          number
        >;
      const body: StatsResponse = {
        total: all.length,
        open: active.length,
        byState: count(INCIDENT_STATES, (v) => v.state),
        byClass: count(INCIDENT_CLASSES, (v) => v.class),
        openBySeverity: count(INCIDENT_SEVERITIES, (v) => v.severity, active),
        observations: all.reduce((n, v) => n + v.observationCount, 0),
        containment: {
          contained: all.filter(
            (v) =>
              v.containment.concludedAt &&
              v.containment.actions.every((a) => a.status === 'succeeded'),
          ).length,
          failed: all.filter((v) => v.containment.actions.some((a) => a.status === 'failed'))
            .length,
          pending: all.filter((v) => v.containment.actions.some((a) => a.status === 'pending'))
            .length,
        },
        policyDigest: deps.policy().digest,
      };
      return reply.send(body);
    },
  );

  app.post(
    '/api/v1/reload',
    { config: { scope: 'operate' }, schema: ROUTES.reload },
    async (_req, reply) => {
      const result = await deps.reload();
      if (!result.ok) {
        const problem: PolicyInvalidProblem = {
          type: 'urn:secai:problem:POLICY_INVALID',
          title: 'POLICY_INVALID',
          status: 422,
          code: 'POLICY_INVALID',
          detail: `${deps.policy().path} is not a valid incident policy; the previous one stays active`,
          problems: result.problems.slice(0, 100),
        };
        return reply.code(422).type('application/problem+json').send(problem);
      }
      return reply.send({ status: 'reloaded', digest: result.digest, changed: result.changed });
    },
  );
}
