/**
 * Untrusted text in Markdown a reviewer reads (the `policy diff` comment):
 * values go into code spans, where no Markdown or HTML takes effect, after
 * JSON-escaping (see show-value.ts); prose from messages has its Markdown
 * punctuation escaped. Either way nothing in it can become a link, a
 * mention, HTML or a terminal escape.
 */
import { escapeDisplayUnsafe, jsonEscapedText } from '../model/show-value.ts';

const unicodeEscape = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A code span: nothing inside is Markdown or HTML. The fence is longer than any backtick run inside. */
export function code(text: string): string {
  const inner = jsonEscapedText(text);
  const longest = Math.max(0, ...(inner.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = inner.startsWith('`') || inner.endsWith('`') || inner.startsWith(' ') ? ' ' : '';
  return `${fence}${pad}${inner}${pad}${fence}`;
}

/** Prose from a message: every Markdown-active character backslash-escaped, control and bidirectional characters as `\\uXXXX`. */
export function prose(text: string): string {
  return escapeDisplayUnsafe(text.replace(/[\\`*_{}[\]()<>#+!|~&@$]/g, (ch) => `\\${ch}`).replace(/[\u0000-\u001f]/g, unicodeEscape));
}
