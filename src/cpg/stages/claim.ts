/**
 * What a task claims of the free weights (CPG-SPEC §3.1): all of them, or,
 * under the 'share' claim rule, what its last compacting target leaves it of
 * its share (budget.ts); and, for compacting, the free cells it left out.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type Backbone, growTo } from '../../algebra/backbone.js';
import { claimCounts, claimLimit } from '../../algebra/claim.js';
import type { CpgError } from '../../algebra/errors.js';
import type { CycleState } from '../../algebra/lifecycle.js';
import { type NetState, freePerTensor } from '../../effects/network.js';
import type { RunCtx } from '../context.js';

/** Per tensor, a task's free cells and how many of them it takes, and the limit that decided it (undefined: all of them). */
export interface Claim {
  readonly limit: number | undefined;
  readonly free: ReadonlyMap<string, number>;
  readonly taken: ReadonlyMap<string, number>;
}

/** What the cycle's task claims at the width `b` is at. */
export const claimAt = (c: RunCtx['config'], cy: CycleState, b: Backbone): Claim => {
  const free = freePerTensor(b);
  let total = 0;
  for (const f of free.values()) total += f;
  const budget = cy.ctx.budget;
  const last = cy.config.sparsities[cy.config.sparsities.length - 1];
  const limit = budget === undefined || last === undefined || !cy.config.prune ? undefined : claimLimit(c.claim ?? 'all', budget.share, total, last);
  return { limit, free, taken: claimCounts(free, limit) };
};

/** A partial claim's per-tensor counts; undefined for a whole claim. */
export const partialClaim = (a: Claim): ReadonlyMap<string, number> | undefined => (a.limit === undefined ? undefined : a.taken);

/** Per tensor, the free cells a partial claim left out (compacting does not count them); nothing for a whole claim. */
export const unclaimedOf = (c: RunCtx['config'], cy: CycleState, net0: NetState): E.Either<CpgError, { readonly unclaimed?: ReadonlyMap<string, number> }> =>
  pipe(
    cy.multiplier > net0.backbone.multiplier ? E.map((g: { readonly backbone: Backbone }) => g.backbone)(growTo(cy.multiplier)(net0.backbone)) : E.right(net0.backbone),
    E.map((b) => {
      const { limit, free, taken } = claimAt(c, cy, b);
      return limit === undefined ? {} : { unclaimed: new Map([...free].map(([name, f]) => [name, f - (taken.get(name) ?? f)] as const)) };
    }),
  );
