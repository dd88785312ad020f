/**
 * The bytes of the NATS transport (README "Running on several machines"): a host call or its
 * answer is one value, serialized like a structured clone (V8's serializer: typed arrays, Maps,
 * Sets as between worker threads), cut into frames under the server's `max_payload`, and put back
 * together by the receiver. A frame is a 4-byte header length, the JSON header, then its slice of
 * the value's bytes. Received bytes are copied before any typed array is made on them: a NATS
 * message's data is a view of the client's read buffer, and Node's deserializer would otherwise
 * return arrays that alias one shared buffer.
 */
import { DefaultSerializer, Deserializer } from 'node:v8';
import type { NatsConnection } from '@nats-io/transport-node';

/** What a frame says about itself. */
export interface FrameHeader {
  /** The call's number, unique per session. */
  readonly call: number;
  /** The session (one host) the call is for. */
  readonly session: string;
  /** Coordinator → worker: the host method; worker → coordinator: `ok`, `error` or `working` (no bytes). */
  readonly kind: string;
  /** Where the worker sends answers (coordinator → worker only). */
  readonly reply?: string;
  /** Byte offset of this frame's slice, and the value's whole size. */
  readonly offset: number;
  readonly bytes: number;
}

/** Room kept in each frame for the header and NATS's own protocol line. */
const HEADER_ROOM = 1024;
/** Frames this large at most, whatever the server allows: bounded buffers on both sides. */
const MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** The server's limit on one message (its INFO's max_payload; NATS's default 1 MB when unknown). */
export function maxPayloadOf(nc: NatsConnection): number {
  return nc.info?.max_payload ?? 1024 * 1024;
}

/** A value as bytes, as a structured clone would see it. */
export function serialize(value: unknown): Uint8Array {
  const s = new DefaultSerializer();
  s.writeHeader();
  s.writeValue(value);
  return s.releaseBuffer();
}

/** Node's ArrayBufferView type numbers (lib/v8.js): a Buffer comes back as a Uint8Array, as from a structured clone. */
const VIEW_TYPES = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  DataView,
  Uint8Array,
  BigInt64Array,
  BigUint64Array,
] as const;

/** Node's default deserializer, except that every typed array gets a buffer of its own. */
class CopyingDeserializer extends Deserializer {
  _readHostObject(): ArrayBufferView {
    const type = this.readUint32();
    const byteLength = this.readUint32();
    const own = new ArrayBuffer(byteLength);
    new Uint8Array(own).set(this.readRawBytes(byteLength));
    const View = VIEW_TYPES[type];
    if (View === undefined) throw new TypeError(`natsFrames: unknown typed array type ${type}`);
    return View === DataView ? new DataView(own) : new (View as Uint8ArrayConstructor)(own);
  }
}

/** The value of `bytes` (which the caller owns); no typed array of it shares a buffer with another. */
export function deserialize(bytes: Uint8Array): unknown {
  const d = new CopyingDeserializer(bytes as Buffer);
  d.readHeader();
  return d.readValue();
}

/** Publishes `body` to `subject` as frames under the server's max_payload. */
export function publishFrames(nc: NatsConnection, subject: string, header: Omit<FrameHeader, 'offset' | 'bytes'>, body: Uint8Array): void {
  const room = Math.min(MAX_FRAME_BYTES, maxPayloadOf(nc)) - HEADER_ROOM;
  if (room < 1024) throw new RangeError(`natsFrames: the server's max_payload (${maxPayloadOf(nc)} bytes) leaves no room for frames`);
  let offset = 0;
  do {
    const slice = body.subarray(offset, offset + room);
    const json = new TextEncoder().encode(JSON.stringify({ ...header, offset, bytes: body.byteLength } satisfies FrameHeader));
    if (json.byteLength > HEADER_ROOM - 64) throw new RangeError(`natsFrames: a frame header of ${json.byteLength} bytes`);
    const frame = new Uint8Array(4 + json.byteLength + slice.byteLength);
    new DataView(frame.buffer).setUint32(0, json.byteLength);
    frame.set(json, 4);
    frame.set(slice, 4 + json.byteLength);
    nc.publish(subject, frame);
    offset += slice.byteLength;
  } while (offset < body.byteLength);
}

/** A frame's header and its slice (a view of `data`: copy it before keeping it). */
export function readFrame(data: Uint8Array): { header: FrameHeader; slice: Uint8Array } {
  const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + n))) as FrameHeader;
  return { header, slice: data.subarray(4 + n) };
}

/** Puts the frames of calls (or answers) back together, each into a buffer of its own. */
export class FrameAssembler {
  private readonly partial = new Map<string, { bytes: Uint8Array; got: number }>();

  /** Adds a frame; returns the whole value's bytes once its last frame is in. */
  add(header: FrameHeader, slice: Uint8Array): Uint8Array | undefined {
    const key = `${header.session}/${header.call}/${header.kind}`;
    let p = this.partial.get(key);
    if (!p) {
      p = { bytes: new Uint8Array(header.bytes), got: 0 };
      this.partial.set(key, p);
    }
    p.bytes.set(slice, header.offset); // the copy: nothing kept refers to the client's buffer
    p.got += slice.byteLength;
    if (p.got < header.bytes) return undefined;
    this.partial.delete(key);
    return p.bytes;
  }

  /** Forgets the partial values of a session (it ended). */
  forget(session: string): void {
    for (const key of this.partial.keys()) if (key.startsWith(`${session}/`)) this.partial.delete(key);
  }
}
