/**
 * The IPC channels between `modelhaul/electron` (main process) and `modelhaul/preload`, in one
 * place: the preload is bundled with this module inlined, so both sides always agree.
 */

/** The lifecycle methods a renderer may call, each on a channel of its own. */
export const ACTION_METHODS = ['check', 'start', 'pause', 'resume', 'cancel', 'retry'] as const;
export type ActionMethod = (typeof ACTION_METHODS)[number];

const PREFIX = 'modelhaul:lifecycle:';

export const CHANNELS = {
  /** One invoke channel per action; each answers with the snapshot after the action. */
  action: (method: ActionMethod): string => `${PREFIX}${method}`,
  /** Answers with the current snapshot. */
  getSnapshot: `${PREFIX}get-snapshot`,
  /** The calling frame starts receiving snapshots on {@link CHANNELS.snapshot}; answers with the current one. */
  subscribe: `${PREFIX}subscribe`,
  /** The calling frame stops receiving snapshots. */
  unsubscribe: `${PREFIX}unsubscribe`,
  /** Main to renderer: a new snapshot. */
  snapshot: `${PREFIX}snapshot`,
} as const;
