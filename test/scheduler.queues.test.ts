/**
 * A pure queue simulation (no training) over 2,000 slots (MODEL.md §6): as V grows the average
 * penalty falls and the average backlog grows; with the default V = 10 every device's time-average
 * energy stays within its budget up to Q_k(T)/T, which shrinks with the horizon.
 */
import { simulateQueues } from './schedulerQueueSim';

describe('Lyapunov trade-off', () => {
  it('penalty falls and backlog grows with V; default V keeps every device within budget', () => {
    const slots = 2000;
    const budgetJ = 0.05;
    const runs = [1, 10, 100].map((V) => simulateQueues(V, slots, 20, budgetJ));
    for (const r of runs)
      console.log(
        `V = ${r.V}: mean penalty ${r.meanPenalty.toFixed(4)}, mean backlog ${r.meanBacklogJ.toFixed(4)} J, admitted ${r.meanAdmitted.toFixed(2)}/slot, max mean energy ${Math.max(...r.meanEnergyJ).toFixed(5)} J (budget ${budgetJ}), max queue ${Math.max(...r.maxQueueJ).toFixed(3)} J`,
      );
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.meanPenalty).toBeLessThan(runs[i - 1]!.meanPenalty);
      expect(runs[i]!.meanBacklogJ).toBeGreaterThan(runs[i - 1]!.meanBacklogJ);
    }
    const standard = runs[1]!;
    standard.meanEnergyJ.forEach((e, k) => {
      // Σ_t (E_t − Ē) ≤ Q(T) − Q(0): the excess is at most Q_k(T)/T ...
      expect(e).toBeLessThanOrEqual(budgetJ + (standard.finalQueueJ[k] as number) / slots + 1e-12);
      // ... and the queue stays bounded (O(V)), so that tolerance is ≤ 2 J / T = 0.001 J here, 2% of Ē.
      expect(standard.maxQueueJ[k]).toBeLessThan(2);
      expect(e).toBeLessThanOrEqual(budgetJ + 2 / slots);
    });
  });
});
