/**
 * JSON with typed arrays: checkpoints hold actor states whose weights are Float32Arrays. They are
 * written as base64 of their bytes (exact, compact) and read back into the same type.
 */
const TAGS = { Float32Array: '$f32', Float64Array: '$f64', Int32Array: '$i32', Uint32Array: '$u32', Uint8Array: '$u8' } as const;
type Tag = (typeof TAGS)[keyof typeof TAGS];
const CONSTRUCTORS: Record<Tag, { new (b: ArrayBuffer): ArrayBufferView; BYTES_PER_ELEMENT: number }> = {
  $f32: Float32Array,
  $f64: Float64Array,
  $i32: Int32Array,
  $u32: Uint32Array,
  $u8: Uint8Array,
};

export class CorruptCheckpointError extends Error {
  override readonly name = 'CorruptCheckpointError';
}

/** Serialises `value` to JSON, typed arrays included. */
export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    function replacer(this: unknown, key: string, v: unknown) {
      const raw = (this as Record<string, unknown>)[key];
      if (ArrayBuffer.isView(raw) && !(raw instanceof DataView)) {
        const tag = TAGS[raw.constructor.name as keyof typeof TAGS];
        if (!tag) throw new TypeError(`cannot serialise a ${raw.constructor.name} at ${key}`);
        return { [tag]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
      }
      return v;
    },
    space,
  );
}

/** Parses JSON written by `toJson`; `source` names the file in errors. */
export function fromJson<T = unknown>(text: string, source: string): T {
  try {
    return JSON.parse(text, (_key, v: unknown) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && (keys[0] as string) in CONSTRUCTORS) {
          const tag = keys[0] as Tag;
          const bytes = Buffer.from((v as Record<string, string>)[tag] as string, 'base64');
          const C = CONSTRUCTORS[tag];
          if (bytes.byteLength % C.BYTES_PER_ELEMENT !== 0)
            throw new CorruptCheckpointError(`${source}: a ${tag} array has ${bytes.byteLength} bytes, not a whole number of elements`);
          const copy = new ArrayBuffer(bytes.byteLength);
          new Uint8Array(copy).set(bytes);
          return new C(copy);
        }
      }
      return v;
    }) as T;
  } catch (cause) {
    if (cause instanceof CorruptCheckpointError) throw cause;
    throw new CorruptCheckpointError(`${source}: not valid JSON (${(cause as Error).message})`, { cause });
  }
}
