/**
 * The GGUF file format, as constants and types shared by the reader (`gguf.ts`) and the writer
 * (`gguf-writer.ts`).
 *
 * Layout (little-endian throughout, version 3; version 2 has the same layout):
 * ```
 * u32 magic "GGUF" · u32 version · u64 tensor_count · u64 metadata_kv_count
 * metadata_kv_count × { string key · u32 value_type · value }
 * tensor_count × { string name · u32 n_dims · u64 ne[n_dims] · u32 ggml_type · u64 offset }
 * padding to `general.alignment` (default 32) · tensor data (each tensor at data_start + offset, aligned)
 * ```
 * A string is `u64 byte length` + UTF-8 bytes (no terminator); an array is `u32 item type · u64 count · items`.
 * Dimensions are ggml's `ne`: `ne[0]` is the fastest-varying (contiguous) one.
 */

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** The version this project writes. */
export const GGUF_VERSION = 3;
/** Alignment of the tensor data when the file has no `general.alignment`. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME includes the terminating NUL: a tensor name has at most 63 bytes. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;

/** Metadata value types and their on-disk codes. */
export const GGUF_VALUE_TYPES = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufValueTypeName = keyof typeof GGUF_VALUE_TYPES;
/** Numeric types that fit a JS number exactly. */
export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
/** 64-bit integer types, carried as bigint so that no value is rounded. */
export type GgufBigIntType = 'uint64' | 'int64';

/** One metadata value with its explicit on-disk type, so a read-then-write round trip is byte-exact. */
export type GgufScalar =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string };

/** An array value: homogeneous items of `itemType` (arrays of arrays are allowed by the format). */
export type GgufArray =
  | { type: 'array'; itemType: GgufNumberType; value: number[] }
  | { type: 'array'; itemType: GgufBigIntType; value: bigint[] }
  | { type: 'array'; itemType: 'bool'; value: boolean[] }
  | { type: 'array'; itemType: 'string'; value: string[] }
  | { type: 'array'; itemType: 'array'; value: GgufArray[] };

export type GgufValue = GgufScalar | GgufArray;

/** Metadata in file order. */
export type GgufMetadata = Map<string, GgufValue>;

const VALUE_TYPE_NAMES = new Map<number, GgufValueTypeName>(
  Object.entries(GGUF_VALUE_TYPES).map(([name, code]) => [code, name as GgufValueTypeName]),
);

/** The name of an on-disk value type code, or undefined for an unknown code. */
export function valueTypeName(code: number): GgufValueTypeName | undefined {
  return VALUE_TYPE_NAMES.get(code);
}

/** Byte size of a fixed-size value type (undefined for string and array). */
export function fixedValueSize(type: GgufValueTypeName): number | undefined {
  switch (type) {
    case 'uint8':
    case 'int8':
    case 'bool':
      return 1;
    case 'uint16':
    case 'int16':
      return 2;
    case 'uint32':
    case 'int32':
    case 'float32':
      return 4;
    case 'uint64':
    case 'int64':
    case 'float64':
      return 8;
    case 'string':
    case 'array':
      return undefined;
  }
}

/** A ggml tensor type: elements per block and bytes per block. */
export interface GgmlTypeInfo {
  name: string;
  blockSize: number;
  typeSize: number;
}

/**
 * ggml tensor types (ggml.h `enum ggml_type`) with their block layout, for sizing tensor data. Codes that
 * ggml has retired (4, 5, 31–33, 36–38) are absent: a tensor of an unknown type has no known size.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18],
      [3, 'Q4_1', 32, 20],
      [6, 'Q5_0', 32, 22],
      [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34],
      [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84],
      [11, 'Q3_K', 256, 110],
      [12, 'Q4_K', 256, 144],
      [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210],
      [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66],
      [17, 'IQ2_XS', 256, 74],
      [18, 'IQ3_XXS', 256, 98],
      [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18],
      [21, 'IQ3_S', 256, 110],
      [22, 'IQ2_S', 256, 82],
      [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54],
      [35, 'TQ2_0', 256, 66],
      [39, 'MXFP4', 32, 17],
    ] as const
  ).map(([code, name, blockSize, typeSize]) => [code, { name, blockSize, typeSize }]),
);

/** The ggml type code of 32-bit floats, the only type this project writes. */
export const GGML_TYPE_F32 = 0;

/** Bytes of a tensor's data, or undefined when its type is unknown or its row is not whole blocks. */
export function tensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const info = GGML_TYPES.get(type);
  if (info === undefined) return undefined;
  const ne0 = dims[0] ?? 1;
  if (ne0 % info.blockSize !== 0) return undefined;
  const rows = dims.slice(1).reduce((p, d) => p * d, 1);
  return (ne0 / info.blockSize) * info.typeSize * rows;
}

/** `n` rounded up to a multiple of `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A malformed or unsupported GGUF file. */
export class GgufError extends Error {
  override readonly name = 'GgufError';
}
