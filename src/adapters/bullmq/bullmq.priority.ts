/**
 * Mediaflow priorities run higher first (-100..100); BullMQ's run lower first (1 is the most urgent)
 * and treat 0 as "no priority", which BullMQ serves from a separate list *before* every prioritized
 * job. Every job therefore gets a priority ≥ 1, so all of a processor's jobs sit in one ordered set
 * (FIFO within a priority, as BullMQ keeps a counter per insertion).
 */
export const MIN_PRIORITY = -100;
export const MAX_PRIORITY = 100;

export function toBullPriority(priority: number): number {
  const p = Math.max(MIN_PRIORITY, Math.min(MAX_PRIORITY, Math.round(priority)));
  return MAX_PRIORITY + 1 - p; // 100 → 1, 0 → 101, -100 → 201
}
