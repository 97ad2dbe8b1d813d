/** The runtimes the twin has a profile of (data/runtimes/<name>.json), the default first. */
export const RUNTIMES = ['tensorrt', 'onnxruntime', 'pytorch'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];
/** The fused engine every board file is calibrated for. */
export const DEFAULT_RUNTIME: RuntimeName = 'tensorrt';

export function isRuntimeName(s: string): s is RuntimeName {
  return (RUNTIMES as readonly string[]).includes(s);
}
