/**
 * Virtual energy queues of MODEL.md §6.
 */

/** One device's queue step, MODEL.md §6: Q(t+1) = max(Q(t) + E^t − Ē, 0). */
export function updateQueue(queueJ: number, energyJ: number, budgetJ: number): number {
  return Math.max(queueJ + energyJ - budgetJ, 0);
}

/**
 * One step of the virtual energy queues, MODEL.md §6: Q_k(t+1) = max(Q_k(t) + E_k^t − Ē_k, 0).
 * `energyJ[k]` is 0 for a device not admitted. Pure: returns a new array.
 */
export function updateQueues(queues: readonly number[], energyJ: readonly number[], budgetJ: readonly number[]): number[] {
  if (energyJ.length !== queues.length || budgetJ.length !== queues.length)
    throw new RangeError(`updateQueues: lengths differ (queues ${queues.length}, energyJ ${energyJ.length}, budgetJ ${budgetJ.length})`);
  return queues.map((q, k) => updateQueue(q, energyJ[k] as number, budgetJ[k] as number));
}
