// The HTTP edge shared by every gateway (`@secai/streams/http`): the gateway, the problem
// document schema and the OpenAPI document helpers. The main entry re-exports the gateway too.
export { createGateway, gatewayRoutes, sendProblem, type GatewayOptions } from './gateway.js';
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
