/**
 * Pick masks (CPG-SPEC §1–2): which old weights a task reuses, kept as one
 * bit per cell once the task is finished (the reference keeps 4 bytes).
 * Bits are packed LSB-first within each byte; the unused bits of the last
 * byte are always 0, so equal masks are byte-equal.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type CpgError, decodeError, ownershipError } from './errors.js';
import type { OwnerMap, TaskId } from './ownerMap.js';
import { type TensorPlan, embedIndex, newSize } from './widen.js';

/** A packed bit set over the cells of one tensor. */
export interface PickMask {
  readonly length: number;
  readonly bits: Uint8Array;
}

/** Bytes needed for `length` bits. */
export const byteLength = (length: number): number => (length + 7) >>> 3;

/** A mask with nothing picked. */
export const emptyPick = (length: number): PickMask => ({ length, bits: new Uint8Array(byteLength(length)) });

/** Packs flags (nonzero = picked) into a mask of the same length. */
export const pack = (flags: ArrayLike<number>): PickMask => {
  const n = flags.length;
  const bits = new Uint8Array(byteLength(n));
  for (let i = 0; i < n; i++) if (flags[i] !== 0) bits[i >>> 3]! |= 1 << (i & 7);
  return { length: n, bits };
};

/** Whether cell `i` is picked (false outside the mask). */
export const isPicked = (p: PickMask, i: number): boolean =>
  i >= 0 && i < p.length && ((p.bits[i >>> 3]! >>> (i & 7)) & 1) === 1;

/** 0/1 per cell, `p.length` of them. */
export const unpack = (p: PickMask): Uint8Array => {
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = (p.bits[i >>> 3]! >>> (i & 7)) & 1;
  return out;
};

/**
 * The binary mask a task uses from its real-valued one: picked where
 * real > threshold (the reference's Binarizer; NaN is not picked).
 */
export const binarize = (real: Float32Array, threshold: number): PickMask => {
  const n = real.length;
  const bits = new Uint8Array(byteLength(n));
  for (let i = 0; i < n; i++) if (real[i]! > threshold) bits[i >>> 3]! |= 1 << (i & 7);
  return { length: n, bits };
};

/** How many cells are picked. */
export const countPicked = (p: PickMask): number => {
  let n = 0;
  for (let b = 0; b < p.bits.length; b++) {
    let x = p.bits[b]!;
    while (x !== 0) {
      x &= x - 1;
      n++;
    }
  }
  return n;
};

/** Same length and same bits. */
export const pickEquals = (a: PickMask, b: PickMask): boolean => {
  if (a.length !== b.length || a.bits.length !== b.bits.length) return false;
  for (let i = 0; i < a.bits.length; i++) if (a.bits[i] !== b.bits[i]) return false;
  return true;
};

/** A decode error at the pick mask (of `tensor`, when named). */
const maskDecodeError = (tensor: string | undefined, message: string): CpgError =>
  decodeError(undefined, tensor === undefined ? 'pick mask' : `pick mask of '${tensor}'`, message);

/**
 * Validates packed bits read from disk: exactly ⌈length/8⌉ bytes and no bit
 * set past `length`. Returns a copy. `tensor` only names it in the error.
 */
export const pickFromBytes = (length: number, bytes: Uint8Array, tensor?: string): E.Either<CpgError, PickMask> => {
  if (!Number.isInteger(length) || length < 0) return E.left(maskDecodeError(tensor, `length must be a non-negative integer, got ${length}`));
  const want = byteLength(length);
  if (bytes.length !== want) return E.left(maskDecodeError(tensor, `${length} bits need ${want} bytes, got ${bytes.length}`));
  const used = length & 7;
  if (used !== 0 && (bytes[want - 1]! >>> used) !== 0)
    return E.left(maskDecodeError(tensor, `padding bits after bit ${length - 1} are set (last byte 0x${bytes[want - 1]!.toString(16)})`));
  return E.right({ length, bits: bytes.slice() });
};

const sizeError = (plan: TensorPlan, got: number, expected: number, what: string): CpgError =>
  ownershipError(plan.name, `pick mask has ${got} cells, the plan's ${what} shape has ${expected}`);

/**
 * The pick mask of the wider tensor: every old bit at its new position
 * (`embedIndex`), every new cell unpicked. A mask of the wrong size is refused.
 */
export const widenPick =
  (plan: TensorPlan) =>
  (p: PickMask): E.Either<CpgError, PickMask> => {
    const index = embedIndex(plan);
    if (p.length !== index.length) return E.left(sizeError(plan, p.length, index.length, 'old'));
    const out = emptyPick(newSize(plan));
    const bits = out.bits;
    for (let i = 0; i < index.length; i++) {
      if (((p.bits[i >>> 3]! >>> (i & 7)) & 1) === 1) {
        const j = index[i]!;
        bits[j >>> 3]! |= 1 << (j & 7);
      }
    }
    return E.right(out);
  };

/** The old block of a widened pick mask (a mask of the wrong size is refused). */
export const restrictPick =
  (plan: TensorPlan) =>
  (p: PickMask): E.Either<CpgError, PickMask> => {
    const index = embedIndex(plan);
    if (p.length !== newSize(plan)) return E.left(sizeError(plan, p.length, newSize(plan), 'new'));
    const out = emptyPick(index.length);
    const bits = out.bits;
    for (let i = 0; i < index.length; i++) {
      const j = index[i]!;
      if (((p.bits[j >>> 3]! >>> (j & 7)) & 1) === 1) bits[i >>> 3]! |= 1 << (i & 7);
    }
    return E.right(out);
  };

const lengthError = (owners: OwnerMap, pick: PickMask): CpgError =>
  ownershipError(owners.tensor, `pick mask has ${pick.length} cells, the owner map ${owners.cells.length}`);

/**
 * The effective-weight selector of CPG-SPEC §2, 0/1 per cell:
 * [O == task] ∨ ([1 ≤ O < task] ∧ pick). Without a pick (task 1, or no
 * reuse) the task sees only its own cells. Free cells and later tasks' cells
 * are never selected. A pick whose length is not the owner map's is refused.
 */
export const effective = (task: TaskId, owners: OwnerMap, pick: PickMask | undefined): E.Either<CpgError, Uint8Array> => {
  const cells = owners.cells;
  const n = cells.length;
  if (pick !== undefined && pick.length !== n) return E.left(lengthError(owners, pick));
  const out = new Uint8Array(n);
  if (pick === undefined) {
    for (let i = 0; i < n; i++) out[i] = cells[i] === task ? 1 : 0;
    return E.right(out);
  }
  const bits = pick.bits;
  for (let i = 0; i < n; i++) {
    const o = cells[i]!;
    out[i] = o === task ? 1 : o >= 1 && o < task ? (bits[i >>> 3]! >>> (i & 7)) & 1 : 0;
  }
  return E.right(out);
};

/**
 * How much of the old weights `task` reuses: `old` counts cells with
 * 1 ≤ O < task, `picked` those of them the pick selects (a pick of the wrong length is refused).
 */
export const pickedCount = (
  task: TaskId,
  owners: OwnerMap,
  pick: PickMask | undefined,
): E.Either<CpgError, { readonly picked: number; readonly old: number }> => {
  const cells = owners.cells;
  if (pick !== undefined && pick.length !== cells.length) return E.left(lengthError(owners, pick));
  let old = 0;
  let picked = 0;
  for (let i = 0; i < cells.length; i++) {
    const o = cells[i]!;
    if (o >= 1 && o < task) {
      old++;
      if (pick !== undefined && ((pick.bits[i >>> 3]! >>> (i & 7)) & 1) === 1) picked++;
    }
  }
  return E.right({ picked, old });
};
