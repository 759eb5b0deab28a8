/**
 * How a CPG task claims free weights under a budget (budget.ts): the whole
 * claim of CPG-SPEC §3.1, or — where the sweep could not compact that to the
 * task's share — a partial one. Pure arithmetic; the effects layer draws the
 * cells (network.ts, claimFree).
 */

import type * as t from 'io-ts';
import { oneOf } from './shape.js';

/**
 * - 'all': every free weight (CPG-SPEC §3.1, the reference);
 * - 'share': when compacting all of them to its share would need a sparsity
 *   beyond the sweep's last target, only as many as that target compacts to
 *   the share, drawn at random (`claimLimit`, `claimCounts`).
 */
export const ClaimRule = oneOf('all', 'share');
export type ClaimRule = t.TypeOf<typeof ClaimRule>;

/**
 * The free cells a task claims: all of them (undefined), unless — under the
 * 'share' rule — compacting all of them to its share would need a sparsity
 * beyond the sweep's last target. Then share / (1 − last target): the most
 * the sweep's own last target brings to the share. The rule is continuous:
 * where the whole claim is just out of reach, the claim is just under it.
 */
export const claimLimit = (rule: ClaimRule, share: number, free: number, lastTarget: number): number | undefined => {
  if (rule !== 'share' || !(lastTarget > 0 && lastTarget < 1)) return undefined;
  const reach = Math.floor(share / (1 - lastTarget));
  return reach < free ? reach : undefined;
};

/**
 * Per tensor, the cells a claim of `limit` takes from its free ones: the same
 * fraction of each tensor's free cells (rounded down, so the total stays
 * within the limit); every free cell when there is no limit.
 */
export const claimCounts = (freePerTensor: ReadonlyMap<string, number>, limit: number | undefined): Map<string, number> => {
  let free = 0;
  for (const f of freePerTensor.values()) free += f;
  const q = limit === undefined || free <= limit ? 1 : Math.max(0, limit) / free;
  return new Map([...freePerTensor].map(([name, f]) => [name, q === 1 ? f : Math.floor(q * f)] as const));
};
