/**
 * A correctness fix for the wasm backend's forward convolutions (Conv2D,
 * FusedConv2D and their depthwise forms). With 'same' padding and a stride
 * larger than the kernel, TensorFlow's padding amount `(out − 1)·stride + k −
 * in` can be negative (clamped to 0): e.g. a 1×1 stride-2 shortcut on an even
 * size. XNNPACK's TF-same mode returns wrong values (zeros) there. We hand
 * such calls to the stock kernel with the padding spelled out instead
 * (computed by tfjs itself), which XNNPACK gets right.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dim, type Info } from './wasm-calls.js';

/** Whether 'same' padding would be negative along some axis for these shapes. */
const sameIsNegative = (info: tf.backend_util.Conv2DInfo): boolean =>
  (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight < info.inHeight ||
  (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth < info.inWidth;

/** Wraps a stock forward convolution so that such 'same' calls get explicit padding. */
export const explicitSamePadding = (stock: tf.KernelFunc, depthwise: boolean): tf.KernelFunc => (args) => {
  const attrs = args.attrs ?? {};
  if (attrs['pad'] !== 'same') return stock(args);
  const x = args.inputs['x'] as Info;
  const filter = args.inputs['filter'] as Info;
  const info = tf.backend_util.computeConv2DInfo(
    [dim(x.shape, 0), dim(x.shape, 1), dim(x.shape, 2), dim(x.shape, 3)],
    [dim(filter.shape, 0), dim(filter.shape, 1), dim(filter.shape, 2), dim(filter.shape, 3)],
    attrs['strides'] as number | [number, number],
    (attrs['dilations'] as number | [number, number] | undefined) ?? 1,
    'same',
    undefined,
    depthwise,
    'channelsLast',
  );
  if (!sameIsNegative(info)) return stock(args);
  const { top, bottom, left, right } = info.padInfo;
  return stock({ ...args, attrs: { ...attrs, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] } });
};
