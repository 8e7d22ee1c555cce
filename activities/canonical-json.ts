/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` object fields omitted (as
 * `JSON.stringify` does). Equal values give equal bytes, so hashes of it are content addresses (the call-cache
 * key, blob keys).
 */
import { createHash } from 'node:crypto';

function canonical(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${path} is ${value}, which JSON cannot represent`);
      return JSON.stringify(value);
    case 'object': {
      const withToJson = value as { toJSON?: () => unknown };
      if (typeof withToJson.toJSON === 'function') return canonical(withToJson.toJSON(), path);
      if (Array.isArray(value)) {
        return `[${value.map((v: unknown, i) => (v === undefined ? 'null' : canonical(v, `${path}[${i}]`))).join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const fields = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(record[k], `${path}.${k}`)}`);
      return `{${fields.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: ${path} is a ${typeof value}, which JSON cannot represent`);
  }
}

/** Canonical JSON text of a JSON-plain value; throws `TypeError` naming the path of a non-JSON value. */
export function canonicalJson(value: unknown): string {
  return canonical(value, '$');
}

/** sha256 hex of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
