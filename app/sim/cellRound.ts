/**
 * One cell's part of a round, as the simulation driver runs it (MODEL.md §2; the passes of
 * actors/roundMessages.ts): what the driver sends the cell's actors and reads from their mail. A
 * single-cell run drives one cell with the default topology's ids (app/sim/run.ts); a
 * multi-cell system drives every cell in the same runtime slot, one live medium each
 * (app/sim/cells.ts). The driver only reads what the actors and the medium send it.
 */
import type { Envelope } from '../../runtime/actor';
import type { DriverSend, Runtime } from '../../runtime/system';
import type { Scenario } from '../scenario';
import type { BitsByType, RoundMetrics } from '../metrics';
import type { Decided, DriverMessages, RoundOpen, RoundSummary, SlotStart } from '../../actors/roundMessages';
import { deviceId, type CellIds } from '../../actors/actorParams';
import { roundWeight } from '../../scheduler/penalty';
import type { LiveMedium } from './liveMedium';

/** One cell as the driver sees it: its scenario (the system's with the cell's sections), ids and live medium. */
export interface DrivenCell {
  readonly scenario: Scenario;
  readonly ids: CellIds;
  readonly medium: LiveMedium;
}

/** A round closed by the edge server (pass C's mail read), its transfers not yet accounted on the live medium (`accountRound`). */
export interface ClosedRound {
  decided: Decided;
  summary: RoundSummary;
  evaluation: { accuracy: number; loss: number };
}

/** A round closed by the edge server and accounted, waiting for the devices to settle their queues (next slot's pass A). */
export interface OpenRound extends ClosedRound {
  /** Bits moved in the round, per message type, as the live medium accounted them. */
  bits: BitsByType;
}

/** The driver's mail of one type from the cell's actors: the bodies `DriverMessages` says that type carries. */
export function cellMail<T extends keyof DriverMessages>(cell: DrivenCell, mail: readonly Envelope[], type: T): DriverMessages[T][] {
  return mail.filter((m) => m.type === type && m.from.startsWith(cell.ids.prefix)).map((m) => m.body as DriverMessages[T]);
}

/**
 * Pass A of slot `slot` at virtual time `t0`: the cell's live medium opens the slot and each device
 * gets its channel; the scheduler is asked to decide. The closing slot after the last round only
 * lets the devices settle their queues.
 */
export function startSlot(runtime: Runtime, cell: DrivenCell, slot: number, t0: number): void {
  const s = cell.scenario;
  const T = s.training.rounds;
  const closing = slot === T;
  const starts: SlotStart[] = closing
    ? Array.from({ length: s.devices.count }, () => ({ slot, gain: 0, reachable: false, dropout: false, closing: true }))
    : cell.medium.open(slot, t0);
  starts.forEach((start, k) => runtime.send(cell.ids.device(k), 'slot-start', start, t0));
  if (!closing) runtime.send(cell.ids.scheduler, 'decide', { slot, weight: roundWeight(s.scheduler.roundWeightBase, slot, T) }, t0);
}

/**
 * Pass B of round `slot`: the scheduler's decision applied on the cell's live medium (a bad one
 * stops the run here, before any actor sees it) and the round opened at the edge server with the
 * applied links.
 */
export function openRound(runtime: Runtime, cell: DrivenCell, slot: number, mail: readonly Envelope[]): Decided {
  const decided = cellMail(cell, mail, 'decision').find((d) => d.slot === slot);
  if (!decided) throw new Error(`slot ${slot}: the scheduler ${cell.ids.scheduler} published no decision`);
  const { admitted, bandwidth } = decided.decision;
  // The medium names a cell's devices by index ('d3'): the cell's prefix comes off (none in a single-cell run).
  const prefix = cell.ids.prefix;
  const local = (id: string) => (prefix && id.startsWith(prefix) ? id.slice(prefix.length) : id);
  const links = cell.medium.apply(
    prefix
      ? { slot, admitted: admitted.map(local), bandwidth: Object.fromEntries(Object.entries(bandwidth).map(([id, b]) => [local(id), b])) }
      : { slot, admitted, bandwidth },
  );
  const open: RoundOpen = {
    slot,
    decidedT: decided.decidedT,
    admitted: [...admitted],
    links: Object.fromEntries(links.links.filter((l) => l.admitted).map((l) => [cell.ids.device(l.device), l])),
    dataSizes: decided.dataSizes,
  };
  runtime.send(cell.ids.server, 'round-open', open, decided.decidedT);
  return decided;
}

/**
 * Pass C of round `slot`: the edge server closes it at the deadline. Known once the round is
 * decided, so the driver runs it in the call of pass B (`runSlot`'s `then`), after pass B settles.
 */
export function closeRound(cell: DrivenCell, slot: number, decided: Decided): DriverSend {
  return { to: cell.ids.server, type: 'close-round', body: { slot }, t: decided.decidedT + cell.scenario.training.deadlineS };
}

/** What the cell's server and evaluators said of round `slot` (pass C's mail); its transfers accounted on the live medium. */
export function readRound(cell: DrivenCell, slot: number, decided: Decided, mail: readonly Envelope[]): OpenRound {
  return accountRound(cell, closedRound(cell, slot, decided, mail));
}

/** What the cell's server and evaluators said of round `slot` (pass C's mail), before its transfers are accounted. */
export function closedRound(cell: DrivenCell, slot: number, decided: Decided, mail: readonly Envelope[]): ClosedRound {
  const summary = cellMail(cell, mail, 'round-summary').find((m) => m.slot === slot);
  // Shards' counts added in shard order: the same sum whatever the worker count.
  const scores = cellMail(cell, mail, 'evaluation')
    .filter((m) => m.slot === slot)
    .sort((a, b) => a.shard - b.shard);
  const samples = scores.reduce((n, e) => n + e.samples, 0);
  if (!summary || scores.length === 0 || samples === 0)
    throw new Error(`round ${slot}${cell.ids.prefix ? ` of cell ${cell.ids.prefix.slice(0, -1)}` : ''}: no summary or evaluation arrived`);
  const evaluation = {
    accuracy: scores.reduce((n, e) => n + e.correct, 0) / samples,
    loss: scores.reduce((n, e) => n + e.lossSum, 0) / samples,
  };
  return { decided, summary, evaluation };
}

/**
 * The transfers the actors charged in a closed round, checked against its links and accounted on the
 * cell's live medium (a `TransferError` for one that does not match; rounds in order).
 */
export function accountRound(cell: DrivenCell, round: ClosedRound): OpenRound {
  const ledger = cell.medium.account({ slot: round.summary.slot, completions: round.summary.reports.flatMap((r) => r.transfers) });
  return { ...round, bits: { ...ledger.slotBits } };
}

/** Completes a closed round with its queue updates, from the mail of the next slot's pass A (MODEL.md §9). */
export function roundMetrics(cell: DrivenCell, open: OpenRound, mail: readonly Envelope[], wallS: number): RoundMetrics {
  const { decided, summary } = open;
  const updates = cellMail(cell, mail, 'queue').filter((q) => q.round === summary.slot);
  const queues = new Array<number>(cell.scenario.devices.count).fill(0);
  const energyJ: Record<string, number> = {};
  for (const u of updates) {
    queues[u.index] = u.queue;
    if (u.energyJ > 0) energyJ[deviceId(u.index)] = u.energyJ;
  }
  const aggregated = new Set(summary.aggregated);
  const losses = summary.reports.filter((r) => aggregated.has(r.device)).map((r) => r.meanLoss);
  return {
    round: summary.slot,
    admitted: decided.decision.admitted,
    bandwidth: decided.decision.bandwidth,
    failures: summary.failures,
    latencyS: summary.latencyS,
    energyJ,
    queues,
    penalty: decided.decision.penalty,
    bits: open.bits,
    trainLoss: losses.length > 0 ? losses.reduce((a, b) => a + b, 0) / losses.length : Number.NaN,
    testAccuracy: open.evaluation.accuracy,
    virtualTimeS: summary.decidedT + summary.latencyS,
    wallS,
  };
}
