/**
 * Durations as workflow authors write the `ttl` input: `30s`, `15m`, `1h`
 * or a combination (`1h30m`). The Action's own copy of the rule the
 * service applies to config and policy files: the Action is bundled from
 * its own sources and imports nothing of the service.
 */

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * Parses a duration to whole seconds, or returns undefined when the text is not one.
 * A bare integer is not a duration: the unit must be explicit (the `ttl` input reads bare seconds itself).
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null || text.trim() === '') return undefined;
  const [, h = '0', m = '0', s = '0'] = match;
  const seconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}
