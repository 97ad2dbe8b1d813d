/** Where built models go: $POLYTHROTTLE_CACHE, else $XDG_CACHE_HOME/polythrottle, else ~/.cache/polythrottle. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.POLYTHROTTLE_CACHE) return env.POLYTHROTTLE_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'polythrottle');
  return join(homedir(), '.cache', 'polythrottle');
}

/** Folder of the generated .onnx files inside the cache. */
export const modelCacheDir = (env: NodeJS.ProcessEnv = process.env): string => join(cacheDir(env), 'models');
