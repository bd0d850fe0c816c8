/** Durations as written in config and policy files: `30s`, `10m`, `1h` (or a combination: `1h30m`). */

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * Parses a duration to whole seconds, or returns undefined when the text is not one.
 * A bare integer is not accepted: the unit must be explicit so `ttl: 15` cannot mean 15 hours.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null || text.trim() === '') return undefined;
  const [, h = '0', m = '0', s = '0'] = match;
  const seconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/** Formats seconds the way people write them: 900 → `15m`, 5400 → `1h30m`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
  return parts === '' ? '0s' : parts;
}
