/**
 * Traffic accounting (MODEL.md §9): bits moved per message type (activations, features, cut
 * gradients, heads), per device and per slot, and running totals. Divide by 8 for bytes.
 */
import type { TransferFrame } from './transfer';

/** Bits moved over the medium, per message type. */
export interface BitsByType {
  activations: number;
  features: number;
  gradients: number;
  heads: number;
}

/** Traffic of the last slot accounted and since the start, in bits. MODEL.md §9. */
export interface TrafficLedger {
  /** The last slot accounted; −1 before any. */
  readonly slot: number;
  /** This slot, all devices. */
  readonly slotBits: BitsByType;
  /** This slot, per device (device order). */
  readonly slotBitsByDevice: readonly BitsByType[];
  /** Since the start, all devices. */
  readonly totalBits: BitsByType;
  /** Since the start, per device. */
  readonly totalBitsByDevice: readonly BitsByType[];
}

/** Zero bits of every type. */
export function zeroBits(): BitsByType {
  return { activations: 0, features: 0, gradients: 0, heads: 0 };
}

/** A ledger with nothing accounted, for `deviceCount` devices. MODEL.md §9. */
export function emptyLedger(deviceCount: number): TrafficLedger {
  const none = Array.from({ length: deviceCount }, zeroBits);
  return { slot: -1, slotBits: zeroBits(), slotBitsByDevice: none, totalBits: zeroBits(), totalBitsByDevice: none };
}

function add(a: BitsByType, b: BitsByType): BitsByType {
  return {
    activations: a.activations + b.activations,
    features: a.features + b.features,
    gradients: a.gradients + b.gradients,
    heads: a.heads + b.heads,
  };
}

/** Accounts one slot's transfers (pure: returns a new ledger). Sums in device order. MODEL.md §9. */
export function recordTransfers(ledger: TrafficLedger, frame: TransferFrame): TrafficLedger {
  const byDevice: { -readonly [K in keyof BitsByType]: number }[] = ledger.totalBitsByDevice.map(zeroBits);
  for (const c of frame.completions) {
    const row = byDevice[c.device];
    if (row === undefined)
      throw new RangeError(`slot ${frame.slot}: transfer for device d${c.device}, the ledger has ${byDevice.length} devices`);
    row[c.type] += c.bits;
  }
  const slotBits = byDevice.reduce(add, zeroBits());
  return {
    slot: frame.slot,
    slotBits,
    slotBitsByDevice: byDevice,
    totalBits: add(ledger.totalBits, slotBits),
    totalBitsByDevice: ledger.totalBitsByDevice.map((total, k) => add(total, byDevice[k] as BitsByType)),
  };
}
