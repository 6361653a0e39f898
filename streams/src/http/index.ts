// The HTTP edge shared by every gateway (`@secai/streams/http`): the gateway, the problem
// document schema and the OpenAPI document helpers. The main entry re-exports the gateway too.
export {
  BUS_RETRY_AFTER_SECONDS,
  GatewayRefusal,
  createGateway,
  gatewayRoutes,
  sendProblem,
  type GatewayOptions,
  type GatewayRefusalCode,
} from './gateway.js';
export { BusHealthSchema, HealthStatusSchema, busHealthOf, type HealthStatus } from './health.js';
export { MAX_JSON_DEPTH, jsonTooDeep } from './json.js';
export {
  DocumentProblemSchema,
  ERROR_RESPONSES,
  PROBLEM_MEDIA_TYPE,
  ProblemSchema,
  problemResponse,
  problemWith,
  type Problem,
} from './problem.js';
export { Nullable } from './schemas.js';
export {
  OPENAPI_PATH,
  OpenApiDocumentSchema,
  openApiGaps,
  openApiPath,
  type GatewayRoute,
} from './openapi.js';
