// The client every gate uses lives in the kernel (@secai/streams), since a service may not import
// another service's package; re-exported here for callers that already import it from the engine.
export {
  PolicyClient,
  PolicyClientError,
  type PolicyAnswer,
  type PolicyClientErrorCode,
} from '@secai/streams';
