/**
 * A finished task's network as a standard tfjs LayersModel (model.json plus
 * one weight file), built from stock layers only: BatchNormalization (the
 * pixel normalisation, then the network's own, with our epsilon), Conv2D,
 * Dense, ReLU, MaxPooling2D, GlobalAveragePooling2D, Flatten and Add. It
 * takes NHWC pixels in [0, 1] with a dynamic batch and outputs logits, and
 * loads with plain `tf.loadLayersModel` in a program that does not import cpg.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { type CpgError, internalError } from '../../algebra/errors.js';
import type { Node } from '../../algebra/graph.js';
import type { InputShape, Normalisation } from '../../algebra/task.js';
import type { TaskModel } from '../evaluate.js';
import { BN_EPS } from '../forward.js';

/** The files of an export, by name. */
export type ExportFiles = ReadonlyMap<string, Uint8Array>;

/** The weight file's name in model.json's manifest. */
export const WEIGHTS_FILE = 'weights.bin';

const values = (net: TaskModel, name: string): tf.Tensor => net.param(name);

/** The layer computing one node, and the weights it takes (in the layer's order). */
const layerOf = (n: Node, net: TaskModel): { readonly layer: tfl.layers.Layer; readonly weights: readonly tf.Tensor[] } | null => {
  const name = n.id.replace(/[^A-Za-z0-9_]/g, '_');
  switch (n.kind) {
    case 'input':
      return null;
    case 'conv2d':
      return {
        layer: tfl.layers.conv2d({ name, filters: n.filters, kernelSize: n.kernel, strides: n.stride, padding: n.padding, useBias: n.bias }),
        weights: n.bias ? [values(net, `${n.id}/kernel`), values(net, `${n.id}/bias`)] : [values(net, `${n.id}/kernel`)],
      };
    case 'dense':
      return { layer: tfl.layers.dense({ name, units: n.units }), weights: [values(net, `${n.id}/kernel`), values(net, `${n.id}/bias`)] };
    case 'head':
      return { layer: tfl.layers.dense({ name, units: values(net, 'head/bias').shape[0]! }), weights: [values(net, 'head/kernel'), values(net, 'head/bias')] };
    case 'batchNorm':
      return {
        layer: tfl.layers.batchNormalization({ name, axis: -1, epsilon: BN_EPS }),
        weights: ['gamma', 'beta', 'movingMean', 'movingVar'].map((w) => values(net, `${n.id}/${w}`)),
      };
    case 'relu':
      return { layer: tfl.layers.reLU({ name }), weights: [] };
    case 'maxPool':
      return { layer: tfl.layers.maxPooling2d({ name, poolSize: n.size, strides: n.stride, padding: 'valid' }), weights: [] };
    case 'globalAvgPool':
      return { layer: tfl.layers.globalAveragePooling2d({ name }), weights: [] };
    case 'flatten':
      return { layer: tfl.layers.flatten({ name }), weights: [] };
    case 'add':
      return { layer: tfl.layers.add({ name }), weights: [] };
  }
};

const inputsOf = (n: Node): readonly string[] => (n.kind === 'input' ? [] : n.kind === 'add' ? n.inputs : [n.input]);

/** The bytes of a text file. */
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * The LayersModel files of a task's network (`net`, at the task's width, with
 * its effective weights): model.json and weights.bin.
 */
export const layersModelFiles = (net: TaskModel, shape: InputShape, normalisation: Normalisation | null): TE.TaskEither<CpgError, ExportFiles> =>
  TE.tryCatch(
    async () => {
      const made: tf.Tensor[] = [];
      try {
        const input = tfl.input({ shape: [...shape], name: 'pixels' });
        let x: tfl.SymbolicTensor = input;
        if (normalisation !== null) {
          // (p − mean) / std per channel, as a batch norm with variance std² and no epsilon.
          const norm = tfl.layers.batchNormalization({ name: 'normalise', axis: -1, epsilon: 0 });
          x = norm.apply(x) as tfl.SymbolicTensor;
          const c = normalisation.mean.length;
          const w = [tf.ones([c]), tf.zeros([c]), tf.tensor1d([...normalisation.mean]), tf.tensor1d(normalisation.std.map((s) => s * s))];
          made.push(...w);
          norm.setWeights(w);
        }
        const first = net.graph.nodes[0];
        // A vector input (the MLP) takes the pixels flattened in NHWC order, as cpg does.
        if (first?.kind === 'input' && first.shape.length === 1) x = tfl.layers.flatten({ name: 'pixels_flat' }).apply(x) as tfl.SymbolicTensor;
        const out = new Map<string, tfl.SymbolicTensor>();
        for (const n of net.graph.nodes) {
          if (n.kind === 'input') {
            out.set(n.id, x);
            continue;
          }
          const l = layerOf(n, net)!;
          const ins = inputsOf(n).map((id) => out.get(id)!);
          const y = l.layer.apply(ins.length === 1 ? ins[0]! : ins) as tfl.SymbolicTensor;
          if (l.weights.length > 0) l.layer.setWeights([...l.weights]);
          out.set(n.id, y);
        }
        const last = net.graph.nodes[net.graph.nodes.length - 1]!;
        const model = tfl.model({ inputs: input, outputs: out.get(last.id)!, name: 'cpg_task' });
        let files: ExportFiles = new Map();
        await model.save(
          tf.io.withSaveHandler(async (a) => {
            const data = a.weightData === undefined ? new ArrayBuffer(0) : Array.isArray(a.weightData) ? tf.io.concatenateArrayBuffers(a.weightData) : a.weightData;
            const json = {
              modelTopology: a.modelTopology,
              format: 'layers-model',
              generatedBy: a.generatedBy,
              convertedBy: 'cpg',
              weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs ?? [] }],
            };
            files = new Map([
              ['model.json', utf8(JSON.stringify(json))],
              [WEIGHTS_FILE, new Uint8Array(data)],
            ]);
            return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
          }),
        );
        model.dispose();
        return files;
      } finally {
        tf.dispose(made);
      }
    },
    (e): CpgError => internalError(e, 'the LayersModel export failed'),
  );
