/**
 * A canonical text of a value: two values that hold the same data encode to
 * the same text whatever order their maps, sets and object keys were filled
 * in. Functions are left out (they are code, not state); an object met again
 * on the way down (a cycle) is written as a marker.
 */
export function canonical(value: unknown): string {
  return encode(value, new Set());
}

function encode(v: unknown, path: Set<object>): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'undefined':
      return 'u';
    case 'number':
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'string':
      return JSON.stringify(v);
    case 'function':
    case 'symbol':
      return 'f';
  }
  const o = v as object;
  if (path.has(o)) return '<cycle>';
  path.add(o);
  try {
    if (Array.isArray(o)) return `[${o.map((x) => encode(x, path)).join(',')}]`;
    if (o instanceof Map)
      return `M{${[...o]
        .map(([k, x]) => `${encode(k, path)}:${encode(x, path)}`)
        .sort()
        .join(',')}}`;
    if (o instanceof Set)
      return `S{${[...o]
        .map((x) => encode(x, path))
        .sort()
        .join(',')}}`;
    const keys = Object.keys(o)
      .filter((k) => typeof (o as Record<string, unknown>)[k] !== 'function')
      .sort();
    return `{${keys.map((k) => `${k}:${encode((o as Record<string, unknown>)[k], path)}`).join(',')}}`;
  } finally {
    path.delete(o);
  }
}
