/**
 * Untrusted text (claim values, policy text) as people are shown it, in a
 * message, a log line, a terminal or a review comment: JSON-escaped, so
 * newlines, quotes and terminal escapes cannot garble it, and with the
 * characters JSON leaves as they are but that could still drive a terminal
 * or reorder text (C1 controls, line separators, bidirectional marks and
 * overrides) as `\uXXXX` too.
 */

/** Characters that could drive a terminal or reorder text, beyond what JSON escapes. */
const UNSAFE_FOR_DISPLAY = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const MAX_SHOWN = 200;

const unicodeEscape = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * `text` with every character that could drive a terminal or reorder text,
 * beyond what JSON escapes, as `\uXXXX`. For text that is already JSON (or
 * otherwise escaped), such as `JSON.stringify` output meant for a terminal.
 */
export function escapeDisplayUnsafe(text: string): string {
  return text.replace(UNSAFE_FOR_DISPLAY, unicodeEscape);
}

/**
 * JSON-escaped text without the quotes, never cut short (a reviewer must
 * see the whole of both versions of a pattern).
 */
export function jsonEscapedText(text: string): string {
  return escapeDisplayUnsafe(JSON.stringify(text).slice(1, -1));
}

/**
 * A claim value as shown to people: JSON-escaped (newlines, quotes and
 * terminal escapes cannot garble a message or a log line; so are C1 controls,
 * line separators and bidirectional overrides) and cut at ~200 characters.
 */
export function showValue(text: string): string {
  let shown = text;
  let suffix = '';
  if (text.length > MAX_SHOWN) {
    const cut = isHighSurrogate(text.charCodeAt(MAX_SHOWN - 1)) ? MAX_SHOWN - 1 : MAX_SHOWN;
    shown = text.slice(0, cut);
    suffix = `… (${text.length} characters)`;
  }
  return escapeDisplayUnsafe(JSON.stringify(shown)) + suffix;
}
