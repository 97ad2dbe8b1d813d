/** The inference server as a library: `createServer` (a fastify instance) and its parts. */
export {
  createServer,
  closeServer,
  connectionTimeouts,
  DEFAULT_TIMEOUTS,
  type CloseServerOptions,
  type ConnectionTimeouts,
  type ServerOptions,
  zeroInputs,
} from './server.ts';
export {
  startServing,
  shutdownOnExit,
  DEFAULT_DRAIN_TIMEOUT_MS,
  type ServeSession,
  type ServeSessionOptions,
  type ShutdownOnExitOptions,
} from './serve-session.ts';
export {
  chooseServeDevice,
  modelsToServe,
  profileDeviceSpec,
  type ServeDeviceChoice,
  type ServeModelsOptions,
  type ServedModels,
  serveModels,
} from './serve-models.ts';
export {
  DynamicBatcher,
  type DynamicBatcherOptions,
  type BatchedModel,
  type BatchEvent,
  type DropEvent,
  type GapEvent,
  type IdleEvent,
  type BatchedResult,
} from './dynamic-batcher.ts';
export { queueDelayMs, predictedLatencyMs, retryAfterS, type QueuedWork } from './batching-policy.ts';
export { ServiceTimeEstimator, baselineAt } from './service-time.ts';
export { Metrics } from './metrics.ts';
export { ServingContext, type ServingProfile } from './serving-context.ts';
export { HttpError, OverloadedError, type ErrorBody } from './http-error.ts';
export { parseInferRequest, inferRequestSchema, type ParsedInferRequest } from './infer-request.ts';
export { openBackend, modelArg, BACKEND_KINDS, type BackendKind, type OpenBackendOptions } from './open-backend.ts';
export {
  parseConfigSpec,
  parseFrequency,
  loadProfileFile,
  loadProfile,
  loadConfigOption,
  profileFromRun,
  resolveSlo,
  checkConfig,
  type LoadedProfile,
  type PartialConfig,
} from './serving-config.ts';
export { adminPlugin, type AdminOptions } from './plugins/admin.ts';
export { HostCostEstimator, type BodyKind, type HostCostOptions } from './host-cost.ts';
export { BINARY_HEADER, decodeBinaryTensor, splitBinaryBody, type BinaryBody } from './binary-tensor.ts';
export { Cusum, type CusumOptions, type CusumState, type CusumView } from './cusum.ts';
export {
  DriftRetuner,
  DEFAULT_PROBE_BUDGET,
  type DriftAction,
  type DriftLogEntry,
  type DriftRetunerOptions,
  type ProbeBudget,
  type RetuneMode,
} from './drift-retuner.ts';
export { surrogateModel, type SurrogateGrid, type SurrogateModel } from './surrogate-grid.ts';
