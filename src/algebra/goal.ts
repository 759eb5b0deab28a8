/**
 * How precisely a task's accuracy goal is tested: the tolerance a task may
 * fall short of its goal by, given its validation images.
 */

/**
 * One point: the most a count of images may add to the goal's tolerance, and
 * the finest precision a goal is tested at. A task more than a point under its
 * goal is never let through for want of validation images.
 */
export const GOAL_PRECISION = 0.01;

/**
 * The goal test's tolerance for a task with `valSize` validation images:
 * `allowedLoss`, or `images` of them where that is more (half a point is less
 * than one image on fewer than 200) — but images never add more than
 * GOAL_PRECISION (one image of 12 would forgive 8.33 points); never more than
 * the whole. An `allowedLoss` given explicitly is the user's own and is kept.
 */
export const goalTolerance = (allowedLoss: number, images: number, valSize: number): number =>
  Math.min(1, Math.max(allowedLoss, Math.min(GOAL_PRECISION, images / Math.max(1, valSize))));
