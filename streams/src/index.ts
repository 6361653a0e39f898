export {
  EVENTS_STREAM,
  KV_BUCKETS,
  eventsStreamConfig,
  type EventsStreamOptions,
} from './definitions.js';
export { StreamError, type StreamErrorCode } from './errors.js';
export { ensureNatsUsers, loadNatsUser, type NatsUser } from './credentials.js';
export {
  appliancePermissions,
  dashboardPermissions,
  inboxPrefixOf,
  ownedAggregates,
  permissionsFor,
  permits,
  servicePermissions,
  subjectMatches,
  type SubjectPermissions,
} from './permissions.js';
export {
  renderServerConfig,
  supportsSyncInterval,
  uiOrigins,
  type ServerConfigOptions,
  type WebsocketListenerOptions,
} from './serverConfig.js';
export {
  NATS_INSTALL_HINT,
  findNatsServer,
  launchNatsServer,
  stopStaleNatsServer,
  natsServerVersion,
  type LaunchOptions,
  type NatsServerHandle,
} from './launcher.js';
export { connectAs, type ConnectOptions } from './connect.js';
export { watchBus, type BusHealth, type BusState, type BusWatch } from './busWatch.js';
export { ensureTopology, type EnsureResult } from './ensure.js';
export { TRUST_KEY, TrustCache, publishTrustBundle } from './trust.js';
export {
  EventStore,
  TYPE_HEADER,
  type AppendOptions,
  type AppendResult,
  type EventStoreOptions,
  type ExpectedSequence,
  type LoadedEvent,
} from './eventStore.js';
export {
  runConsumer,
  type ConsumerOptions,
  type DeliveryMeta,
  type EventHandler,
  type RunningConsumer,
} from './consumer.js';
export {
  isNoResponders,
  sendCommand,
  serveCommand,
  type CommandContext,
  type ServeCommandOptions,
} from './commandBus.js';
export {
  firstSeqAtOrAfter,
  readHistory,
  streamBounds,
  type HistoryRange,
  type StoredEntry,
} from './history.js';
export {
  pinnedRootKeyid,
  readRuntimeInfo,
  runtimeInfoPath,
  connectIdentity,
  startServiceRuntime,
  type Connected,
  type RuntimeInfo,
  type RuntimeOptions,
  type ServiceRuntime,
  stopOnSignals,
} from './runtime.js';
export { createLogger, type Logger } from './logger.js';
export type { JsMsg, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
export type { NatsConnection, Subscription } from '@nats-io/transport-node';
export { hostProjection, type HostOptions, type HostedProjection } from './projectionHost.js';
export { headers } from '@nats-io/transport-node';
export {
  VerifierPool,
  VerifierPoolError,
  type VerifierPoolErrorCode,
  type VerifierPoolOptions,
  type VerifyEntry,
  type VerifyResult,
} from './verifierPool.js';
export { followStream, type FollowOptions, type Follower } from './follow.js';
export {
  SigningPool,
  SigningPoolError,
  publishSigned,
  type PublishSignedOptions,
  type PublishSignedResult,
  type SignBatchMeta,
  type SignedEvent,
  type SigningIdentity,
  type SigningPoolErrorCode,
  type SigningPoolOptions,
} from './signingPool.js';
export {
  API_KEY_CALLER,
  createGateway,
  sendProblem,
  type GatewayOptions,
  type Problem,
} from './http/gateway.js';
export { recordRefusedCommand, rejectionData } from './rejection.js';
export { KeyedMutex } from './keyedMutex.js';
export {
  CommandHandler,
  MAX_COMMAND_ATTEMPTS,
  type AggregateRef,
  type AggregateState,
  type CommandHandlerOptions,
  type CommandMetadata,
  type HandleOptions,
  type HandledCommand,
  type ReadBackRequirement,
} from './handleCommand.js';
export {
  ACTIVE_POLICY,
  ActivePolicyReader,
  foldActivePolicy,
  type LoadedPolicy,
} from './activePolicy.js';
export {
  PolicyClient,
  PolicyClientError,
  type PolicyAnswer,
  type PolicyClientErrorCode,
} from './policyClient.js';
