import { Type } from '@sinclair/typebox';

/** Where every gateway serves its OpenAPI document. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/** One declared route: its method and its fastify path (`/api/v1/models/:digest`). */
export interface GatewayRoute {
  method: string;
  url: string;
}

/** The document itself is generated; only its version member is promised. */
export const OpenApiDocumentSchema = Type.Object(
  { openapi: Type.String() },
  { additionalProperties: true, title: 'OpenApiDocument' },
);

interface Operation {
  responses?: Record<string, unknown>;
}

/** `/api/v1/models/:digest` → `/api/v1/models/{digest}` (how OpenAPI spells a parameter). */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * What a gateway's OpenAPI document lacks: each declared route must be in it with a success
 * response and the problem responses. An empty list means the document describes every route.
 */
export function openApiGaps(routes: readonly GatewayRoute[], document: unknown): string[] {
  const paths = (document as { paths?: Record<string, Record<string, Operation>> } | null)?.paths;
  const gaps: string[] = [];
  for (const { method, url } of routes) {
    const operation = paths?.[openApiPath(url)]?.[method.toLowerCase()];
    const name = `${method} ${url}`;
    if (!operation) {
      gaps.push(`${name}: not in the document`);
      continue;
    }
    const statuses = Object.keys(operation.responses ?? {});
    if (!statuses.some((s) => s.startsWith('2'))) gaps.push(`${name}: no success response`);
    if (!statuses.some((s) => s.startsWith('4'))) gaps.push(`${name}: no problem response`);
  }
  return gaps;
}
