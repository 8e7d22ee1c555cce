/**
 * Optional payload encryption: a `PayloadCodec` that seals every payload (workflow inputs and results, activity
 * arguments, queries, signals, updates, search-state hand-overs) with AES-256-GCM before it reaches the Temporal
 * server, so the server, its database and the Web UI see only ciphertext. The key comes from the environment
 * (`HS_PAYLOAD_KEY`, 32 bytes in base64) of every worker and client; it is never in a payload.
 *
 * Sealed payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <first 16 hex of sha256(key)>`;
 * data = 12-byte random IV ‖ ciphertext ‖ 16-byte tag of the JSON {metadata, data} of the original payload.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The key of `HS_PAYLOAD_KEY`: base64 of exactly 32 bytes. */
export function parsePayloadKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32 || key.toString('base64') !== base64.trim()) {
    throw new Error('HS_PAYLOAD_KEY must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)');
  }
  return key;
}

function encodeOriginal(payload: Payload): Buffer {
  const metadata = Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return Buffer.from(JSON.stringify({ metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') }));
}

function decodeOriginal(bytes: Buffer): Payload {
  const parsed = JSON.parse(bytes.toString('utf8')) as { metadata: Record<string, string>; data: string };
  return {
    metadata: Object.fromEntries(Object.entries(parsed.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(parsed.data, 'base64')),
  };
}

/** AES-256-GCM payload codec; payloads that are not sealed pass through `decode` unchanged. */
export function createAesGcmCodec(key: Buffer): PayloadCodec {
  if (key.length !== 32) throw new RangeError('AES-256-GCM needs a 32-byte key');
  const keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return {
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a failure is a rejection
    encode: async (payloads) =>
      payloads.map((payload): Payload => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        const sealed = Buffer.concat([iv, cipher.update(encodeOriginal(payload)), cipher.final(), cipher.getAuthTag()]);
        return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID]: utf8.encode(keyId) }, data: new Uint8Array(sealed) };
      }),
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a failure is a rejection
    decode: async (payloads) =>
      payloads.map((payload): Payload => {
        const encoding = payload.metadata?.encoding;
        if (encoding === undefined || text.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
        const id = payload.metadata?.[KEY_ID];
        if (id !== undefined && text.decode(id) !== keyId) {
          throw new Error(`payload was encrypted with key ${text.decode(id)}, this process has key ${keyId} (check HS_PAYLOAD_KEY)`);
        }
        const data = Buffer.from(payload.data ?? new Uint8Array());
        if (data.length < 28) throw new Error('encrypted payload is truncated');
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
        decipher.setAuthTag(data.subarray(data.length - 16));
        return decodeOriginal(Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]));
      }),
  };
}

/** The data converter for workers and clients: encryption when a key is configured, defaults otherwise. */
export function dataConverterFor(payloadKey: Buffer | undefined): { payloadCodecs: PayloadCodec[] } | undefined {
  return payloadKey === undefined ? undefined : { payloadCodecs: [createAesGcmCodec(payloadKey)] };
}
