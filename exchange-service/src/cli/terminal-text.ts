/**
 * Text made safe to print: messages, arguments and stored records can hold
 * control characters that would drive the terminal, so everything outside
 * printable ASCII is written as \uXXXX.
 */

const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Free text (messages, arguments) made terminal-safe: anything outside printable ASCII as \uXXXX. */
export function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, escapeChar);
}

/** A multi-line message (a config error lists one field per line) made terminal-safe line by line. */
export function asciiLines(text: string): string {
  return text.split('\n').map(ascii).join('\n');
}

/** JSON text with every character outside printable ASCII written as \uXXXX: safe on any terminal, still valid JSON. */
export function asciiJson(value: unknown): string {
  return ascii(JSON.stringify(value) ?? 'undefined');
}
