import type { FastifyInstance } from 'fastify';
import { UiError } from './errors.js';
import type { HttpDeps } from './http.js';
import type { WhatIfFile } from './operatorActions.js';
import {
  DigestParams,
  ImportBody,
  IncidentParams,
  NoteBody,
  ReasonBody,
  WHAT_IF_BODY_LIMIT,
  WhatIfBody,
} from './schemas.js';

// What a logged-in operator reads and does through the UI: the bus credentials for the page,
// the operator actions (signed commands naming the operator), the policy what-if and the
// incident export.

const session = { auth: 'session' } as const;
const command = { auth: 'session', needsBus: true } as const;

export function actionRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const operator = (request: { session: { operator: string } | null }) => request.session!.operator;

  app.get('/api/bus', { config: session }, async (_request, reply) =>
    reply.send(await deps.bus.credentials()),
  );

  app.post<{ Body: ImportBody }>(
    '/api/models/import',
    { config: command, schema: { body: ImportBody } },
    async (request, reply) => {
      const accepted = await deps.actions.importModel(operator(request), request.body);
      return reply.code(202).send(accepted);
    },
  );

  for (const action of ['contain', 'remove'] as const) {
    app.post<{ Params: DigestParams; Body: ReasonBody }>(
      `/api/models/:digest/${action}`,
      { config: command, schema: { params: DigestParams, body: ReasonBody } },
      async (request, reply) => {
        const { digest } = request.params;
        const { reason } = request.body;
        const who = operator(request);
        const result =
          action === 'contain'
            ? await deps.actions.contain(who, digest, reason)
            : await deps.actions.remove(who, digest, reason);
        return reply.send({ model: digest, ...result });
      },
    );
  }

  for (const step of ['acknowledge', 'resolve'] as const) {
    app.post<{ Params: IncidentParams; Body: NoteBody }>(
      `/api/incidents/:id/${step}`,
      { config: command, schema: { params: IncidentParams, body: NoteBody } },
      async (request, reply) =>
        reply.send(
          await deps.actions.incidentStep(
            step,
            operator(request),
            request.params.id,
            request.body.note,
          ),
        ),
    );
  }

  app.post<{ Body: WhatIfBody }>(
    '/api/policy/what-if',
    { config: command, bodyLimit: WHAT_IF_BODY_LIMIT, schema: { body: WhatIfBody } },
    async (request, reply) => {
      const { policy, decisionIds } = request.body;
      const files = Object.entries(policy).map(([name, text]) => ({
        name: name as WhatIfFile,
        text,
      }));
      const recorded = decisionIds
        ? await deps.decisions.named(decisionIds)
        : await deps.decisions.latest();
      if (recorded.length === 0)
        throw new UiError('TARGET_UNKNOWN', 'no recorded decisions to try the policy on');
      return reply.send(await deps.actions.whatIf(files, recorded));
    },
  );

  app.get<{ Params: IncidentParams }>(
    '/api/incidents/:id/export',
    { config: session, schema: { params: IncidentParams } },
    async (request, reply) => {
      const download = await deps.exportIncident(request.params.id);
      return reply.headers(download.headers).send(download.bytes);
    },
  );
}
