/** The simulated boards; each has a data file `data/boards/<name>.json`. */
export const BOARDS = ['orin-agx', 'tx2', 'xavier-nx', 'orin-nano'] as const;
export type BoardName = (typeof BOARDS)[number];

export function isBoardName(name: string): name is BoardName {
  return (BOARDS as readonly string[]).includes(name);
}
