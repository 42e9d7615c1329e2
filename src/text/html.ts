/**
 * Text made safe for HTML, XML and SVG output and for plain-text diagrams:
 * the check report, the latency chart and the trace diagrams (SVG, Mermaid,
 * ShiViz) all draw user text through these two.
 */

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Characters that are not allowed, or not visible, in HTML and XML text: the C0
 * and C1 controls, DEL, the two XML non-characters and unpaired surrogates.
 * They are shown as `\uXXXX` instead, because XML (the SVG) forbids them even as
 * character references, and because a reader debugging a history wants to see
 * that a control character was there rather than have it silently vanish.
 */
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Makes a string visible: control characters become `\n`, `\t` or `\uXXXX` text. */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Escapes text for HTML (and XML/SVG) element content and quoted attribute
 * values alike: the five markup characters become entities and invisible
 * characters become visible escapes, so the result is inert in either context.
 */
export function escapeHtml(text: string): string {
  return visibleText(text).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
