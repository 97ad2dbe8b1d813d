import { homedir } from 'node:os';
import { join } from 'node:path';

/** The user data directory: $XDG_DATA_HOME, ~/Library/Application Support on macOS, %APPDATA% on Windows. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'polythrottle');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'polythrottle');
  if (platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'polythrottle');
  return join(homedir(), '.local', 'share', 'polythrottle');
}

/** Default SQLite store: $POLYTHROTTLE_DB, else polythrottle.db in the user data directory. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.POLYTHROTTLE_DB || join(userDataDir(env), 'polythrottle.db');
}
