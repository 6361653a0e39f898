import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import type { DocumentProblem } from '@secai/contracts';

/** The media type of every error body a gateway sends (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const problemProperties = {
  type: Type.String({ description: '`urn:secai:problem:<code>`' }),
  title: Type.String(),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  code: Type.String({ description: 'stable error code, e.g. `SCOPE_DENIED`' }),
  detail: Type.String({ description: 'a safe message (4xx) or a correlation id (5xx)' }),
  instance: Type.Optional(Type.String()),
};

/**
 * The one problem document of every gateway: 4xx carry a stable code and a safe message, 5xx only
 * a correlation id. Closed, so serialisation never lets an internal field through.
 */
export const ProblemSchema = Type.Object(problemProperties, {
  additionalProperties: false,
  title: 'Problem',
});
export type Problem = Static<typeof ProblemSchema>;

/** A problem document with extension members (RFC 9457 §3.2), e.g. the refused policy's problems. */
export function problemWith<P extends TProperties>(extensions: P, title: string) {
  return Type.Object(
    { ...problemProperties, ...extensions },
    { additionalProperties: false, title },
  );
}

/** A fastify response entry whose body is a problem document (documented as problem+json). */
export function problemResponse<S extends TSchema>(description: string, schema: S) {
  return { description, content: { [PROBLEM_MEDIA_TYPE]: { schema } } };
}

/**
 * The error responses every gateway route can give (401 token, 403 scope, 400 validation, 404,
 * 413 body size, 415, 5xx): spread into each route's `response` beside its own statuses.
 */
export const ERROR_RESPONSES = {
  '4xx': problemResponse(
    'refused: token (401), scope (403), request (400, 404, 413, 415)',
    ProblemSchema,
  ),
  '5xx': problemResponse('failed: the detail names a correlation id only', ProblemSchema),
} as const;

/**
 * One thing wrong with a refused document (a policy on reload): the shared `DocumentProblem` of
 * `@secai/contracts` with the file it is in, as a 422 problem lists them.
 */
export const DocumentProblemSchema = Type.Object(
  {
    file: Type.Optional(Type.String()),
    path: Type.String({ description: 'key path; empty for the whole document' }),
    code: Type.String(),
    message: Type.String(),
  },
  { additionalProperties: false, title: 'DocumentProblem' },
);
type WireProblem = Static<typeof DocumentProblemSchema>;
// Kept in step with the contracts type at compile time: a field added there and not here would
// silently never be sent.
const inStep: [keyof DocumentProblem] extends [keyof WireProblem]
  ? DocumentProblem extends Omit<WireProblem, 'file'>
    ? true
    : false
  : false = true;
void inStep;
