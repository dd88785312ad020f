/** Operator: transfer frames in, the running traffic ledger out (MODEL.md §9). */
import { scan, type OperatorFunction } from 'rxjs';
import { emptyLedger, recordTransfers, type TrafficLedger } from './traffic';
import type { TransferFrame } from './transfer';

/** Folds each slot's transfers into bits per message type, per device, per slot and in total. MODEL.md §9. */
export function accountTraffic(deviceCount: number, from?: TrafficLedger): OperatorFunction<TransferFrame, TrafficLedger> {
  return (frames$) => frames$.pipe(scan(recordTransfers, from ?? emptyLedger(deviceCount)));
}
