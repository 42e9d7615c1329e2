/**
 * Printable, single-line renderings of text that came from a user or a peer.
 *
 * Keys and values are stored exactly as they were proposed, but anything a
 * user types may be drawn on someone else's terminal: in `paxos status`, the
 * dashboard, replica logs and the plain event lines of `paxos up`. A newline
 * there would forge a line, an escape sequence could clear the screen or
 * change colours, and a bidi override could make text read differently from
 * what it is. So every such piece of text is drawn through `showText`, which
 * turns those characters into visible backslash escapes.
 *
 * Escaped characters:
 * - C0 controls and DEL: `\n`, `\r`, `\t` as themselves, the rest as `\xHH`
 *   (so ESC is `\x1b`);
 * - C1 controls U+0080–U+009F as `\u0080`…`\u009f`, because some terminals
 *   act on them (U+009B is a one-character CSI);
 * - the line and paragraph separators U+2028/U+2029 and the bidi embeddings,
 *   overrides and isolates U+202A–U+202E and U+2066–U+2069 as `\uXXXX`, the
 *   characters of the "Trojan Source" attack.
 *
 * Backslashes: plain text, Windows paths included, should read as typed, so a
 * backslash is doubled only where it could otherwise be mistaken for the start
 * of an escape: when it is followed by `\`, `n`, `r`, `t`, `x` or `u`, by a
 * character that is itself escaped, or by nothing (the end of the text). The
 * last rule keeps renderings unambiguous when they are written next to each
 * other. With these rules every rendering decodes back to exactly one text:
 * `\\` is a backslash, `\n` `\r` `\t` `\xHH` `\uHHHH` are escapes, and a
 * backslash before anything else is itself. The price is that `showText` is
 * not idempotent (a second pass doubles the backslashes the first one wrote),
 * so it is applied once, where a raw key or value is put into a sentence, and
 * text that was already assembled from escaped parts goes through `showLine`.
 */

/** Characters that must never reach a terminal as themselves. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Anything showText would change: an unsafe character, or a backslash that needs doubling. */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPING = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\\(?:[\\nrtxu]|$)/;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  // C0 and DEL fit in two hex digits; C1 and the Unicode format characters are written as code points.
  return code <= 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` as one printable line, with control, bidi and separator characters shown as backslash escapes. */
export function showText(text: string): string {
  // Almost every key and value is plain; they are returned as they are after one regex test.
  if (!NEEDS_ESCAPING.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '\\') {
      const next = text[i + 1];
      const ambiguous = next === undefined || next === '\\' || 'nrtxu'.includes(next) || UNSAFE.test(next);
      out += ambiguous ? '\\\\' : '\\';
    } else {
      out += UNSAFE.test(ch) ? escapeChar(ch) : ch;
    }
  }
  return out;
}

/**
 * A whole line drawn on a terminal whose user-supplied parts should already
 * have been through showText (a log line, a message-flow line, an error
 * sentence). A line with no unsafe character is returned unchanged, so the
 * backslashes showText wrote are not doubled again; a line that still holds
 * one, because some producer forgot or is older than this module, is escaped
 * whole. It is the last line of defence at the places text is drawn.
 */
export function showLine(line: string): string {
  return UNSAFE.test(line) ? showText(line) : line;
}
