/** Operator: link frames in, transfer completions out (MODEL.md §4). */
import { isObservable, map, zip, type Observable, type OperatorFunction } from 'rxjs';
import { TransferError } from './errors';
import type { LinkFrame } from './linkState';
import type { RadioConstants } from './params';
import { completeTransfers, type TransferBatch, type TransferFrame, type TransferRequest } from './transfer';

/**
 * Moves each slot's payloads over that slot's links: the requests come either as a stream of
 * batches paired one to one with the link frames (a batch's slot must match), or from a function
 * of the link frame (e.g. `roundRequests` over its slices). MODEL.md §4.
 */
export function transmit(
  requests: Observable<TransferBatch> | ((frame: LinkFrame) => readonly TransferRequest[]),
  radio: RadioConstants,
): OperatorFunction<LinkFrame, TransferFrame> {
  if (isObservable(requests))
    return (frames$) =>
      zip(frames$, requests).pipe(
        map(([frame, batch]) => {
          if (batch.slot !== frame.slot) throw new TransferError(`transfer batch for slot ${batch.slot} arrived with the links of slot ${frame.slot}`, frame.slot);
          return completeTransfers(frame, batch.requests, radio);
        }),
      );
  return (frames$) => frames$.pipe(map((frame) => completeTransfers(frame, requests(frame), radio)));
}
