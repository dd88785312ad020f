/** Operator: link frames in, transfer completions out (MODEL.md §4). */
import { isObservable, map, zip, type Observable, type OperatorFunction } from 'rxjs';
import { TransferError } from './errors';
import type { LinkFrame } from './linkState';
import type { RadioConstants } from './params';
import { completeTransfers, type TransferBatch, type TransferCompletion, type TransferFrame, type TransferRequest } from './transfer';

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
          if (batch.slot !== frame.slot)
            throw new TransferError(`transfer batch for slot ${batch.slot} arrived with the links of slot ${frame.slot}`, frame.slot);
          return completeTransfers(frame, batch.requests, radio);
        }),
      );
  return (frames$) => frames$.pipe(map((frame) => completeTransfers(frame, requests(frame), radio)));
}

/**
 * The transfers the actors charged in each slot (with `completeTransfer` on the links they were
 * given), paired one to one with the slot's link frames and checked against them: a completion
 * that does not match its device's link in the applied decision (another rate, another slot, a
 * device not admitted) errors the stream with a `TransferError`. MODEL.md §4.
 */
export function chargedTransfers(charged$: Observable<TransferFrame>, radio: RadioConstants): OperatorFunction<LinkFrame, TransferFrame> {
  return (frames$) =>
    zip(frames$, charged$).pipe(
      map(([links, charged]) => {
        if (charged.slot !== links.slot)
          throw new TransferError(`transfers charged in slot ${charged.slot} arrived with the links of slot ${links.slot}`, links.slot);
        const expected = completeTransfers(
          links,
          charged.completions.map(({ device, type, direction, bits }) => ({ device, type, direction, bits })),
          radio,
        );
        charged.completions.forEach((c, i) => {
          const e = expected.completions[i] as TransferCompletion;
          if (c.slot !== e.slot || c.rateBps !== e.rateBps || c.airtimeS !== e.airtimeS || c.energyJ !== e.energyJ)
            throw new TransferError(
              `${c.type} ${c.direction} of device d${c.device} was charged at ${c.rateBps} bit/s in slot ${c.slot}, its link in the applied decision gives ${e.rateBps} bit/s`,
              links.slot,
            );
        });
        return charged;
      }),
    );
}
