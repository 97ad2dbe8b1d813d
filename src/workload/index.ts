/** Workload runners and inference backends (what executes the model), as a library. */
export { type RunLength, type RunRequest, type RunResult, type WorkloadKind, type WorkloadRunner, WORKLOAD_KINDS, requestLatenciesMs } from './runner.ts';
export { WorkloadError, type WorkloadFailure, isWorkloadError } from './errors.ts';
export { InputFactory, type InputOptions, type Sample, parseSamples, readSamplesFile } from './inputs.ts';
export { OnnxBackend, type OnnxBackendOptions, type OnnxModelFile } from './onnx-backend.ts';
export { HttpBackend, type HttpBackendOptions, encodeInferRequest, parseModelMetadata } from './http-backend.ts';
export { SimBackend, type SimBackendOptions, type SimModel } from './sim-backend.ts';
export { BackendRunner, type BackendRunnerOptions, type BatchSender, plainSender } from './backend-runner.ts';
export { createOnnxRunner, type OnnxRunnerOptions } from './onnx-runner.ts';
export { createHttpRunner, type HttpRunnerOptions } from './http-runner.ts';
export { COMMAND_PLACEHOLDERS, CommandRunner, type CommandRunnerOptions, type LatencyUnit } from './command-runner.ts';
export { modelMetadata, modelName, modelProfile, onnxModelFile, metadataFromOnnx } from './model-source.ts';
export { openWorkloadRunner, type WorkloadSettings } from './open-runner.ts';
export { probeWorkload, type ProbeOptions, type ProbeResult } from './probe.ts';
