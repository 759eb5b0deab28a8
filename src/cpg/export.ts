/**
 * Handing a finished task to any app: its network as a standard model file
 * (a tfjs LayersModel directory, or one ONNX file) that takes NHWC pixels in
 * [0, 1] and outputs logits, with the pixel normalisation folded in, and a
 * task.json describing it.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../algebra/errors.js';
import type { InputShape, Normalisation } from '../algebra/task.js';
import type { TaskModel } from '../effects/evaluate.js';
import { type ExportFiles, layersModelFiles } from '../effects/export/layers.js';
import { ONNX_OPSET, onnxModelBytes } from '../effects/export/onnx.js';

/** The formats a task exports to. */
export const exportFormats = ['tfjs', 'onnx'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export type { ExportFiles };

/** What task.json says about an exported task. */
export interface TaskDescription {
  readonly format: ExportFormat;
  /** The model file: model.json (with weights.bin) or model.onnx. */
  readonly model: string;
  readonly task: string;
  /** Output i is the logit of classNames[i]. */
  readonly classNames: readonly string[];
  /** One input: [height, width, channels], NHWC, batch first and dynamic. */
  readonly inputShape: InputShape;
  readonly input: string;
  /** Folded into the model: it takes pixels / 255 as they are. */
  readonly normalisation: Normalisation | null;
  readonly output: string;
  /** Test accuracy (validation without a test split) when the task finished. */
  readonly accuracy: number;
  readonly net: string;
  /** The width the task was learned at (× the base network). */
  readonly multiplier: number;
  /** SHA-256 of the run.json the task was exported from. */
  readonly runManifestSha256: string;
  readonly opset?: number;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The files of one task's export: the model in `format` and task.json. */
export const exportFiles = (
  net: TaskModel,
  format: ExportFormat,
  about: Omit<TaskDescription, 'format' | 'model' | 'input' | 'output' | 'opset'>,
): TE.TaskEither<CpgError, ExportFiles> => {
  const description: TaskDescription = {
    format,
    model: format === 'tfjs' ? 'model.json' : 'model.onnx',
    task: about.task,
    classNames: about.classNames,
    inputShape: about.inputShape,
    input: 'pixels / 255 in [0, 1], NHWC [batch, height, width, channels], batch dynamic',
    normalisation: about.normalisation,
    output: 'logits [batch, classes] (softmax for probabilities)',
    accuracy: about.accuracy,
    net: about.net,
    multiplier: about.multiplier,
    runManifestSha256: about.runManifestSha256,
    ...(format === 'onnx' ? { opset: ONNX_OPSET } : {}),
  };
  const model: TE.TaskEither<CpgError, ExportFiles> =
    format === 'tfjs'
      ? layersModelFiles(net, about.inputShape, about.normalisation)
      : TE.fromEither(
          E.map((bytes: Uint8Array): ExportFiles => new Map([['model.onnx', bytes]]))(
            onnxModelBytes(net, about.inputShape, about.normalisation, `cpg task '${about.task}': ${about.classNames.join(', ')}`),
          ),
        );
  return pipe(
    model,
    TE.map((files) => new Map([...files, ['task.json', utf8(`${JSON.stringify(description, null, 2)}\n`)]])),
  );
};
