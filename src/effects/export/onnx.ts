/**
 * A finished task's network as one ONNX file (opset 13). Its input is NHWC
 * pixels in [0, 1] with a dynamic batch; the pixel normalisation is a Sub and
 * a Div; a Transpose feeds the NCHW convolutions, and another puts features
 * back in NHWC order before a Flatten, so dense weights keep cpg's order. The
 * output is the logits.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type CpgError, internalError } from '../../algebra/errors.js';
import type { Node } from '../../algebra/graph.js';
import type { InputShape, Normalisation } from '../../algebra/task.js';
import type { TaskModel } from '../evaluate.js';
import { BN_EPS } from '../forward.js';
import { type Initializer, type OnnxNode, encodeModel } from './onnxProto.js';

export const ONNX_OPSET = 13;

type Layout = 'nhwc' | 'nchw' | 'flat';

/** Our conv kernel [kh, kw, in, out] as ONNX's [out, in, kh, kw]. */
const oihw = (w: Float32Array, [kh, kw, cin, cout]: readonly number[]): Float32Array => {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < cin!; i++)
        for (let o = 0; o < cout!; o++) out[((o * cin! + i) * kh! + y) * kw! + x] = w[((y * kw! + x) * cin! + i) * cout! + o]!;
  return out;
};

/** The model.onnx bytes of a task's network (`net`, at the task's width, with its effective weights). */
export const onnxModelBytes = (net: TaskModel, shape: InputShape, normalisation: Normalisation | null, docString: string): E.Either<CpgError, Uint8Array> => {
  const nodes: OnnxNode[] = [];
  const inits: Initializer[] = [];
  const layout = new Map<string, Layout>();
  // A layout no node can produce (a graph cpg cannot build): reported once the walk ends.
  let problem: string | undefined;
  const tensorOf = (name: string): { data: Float32Array; dims: number[] } => {
    const t = net.param(name);
    return { data: net.hostValues(name), dims: [...t.shape] };
  };
  const init = (name: string, dims: readonly number[], data: Float32Array): string => {
    inits.push({ name, dims, float: data });
    return name;
  };
  const op = (o: OnnxNode, l: Layout): string => {
    nodes.push(o);
    layout.set(o.outputs[0]!, l);
    return o.outputs[0]!;
  };
  /** The value `v` in layout `want` (inserting a Transpose, or a Transpose and a Flatten). */
  const as = (v: string, want: Layout): string => {
    const have = layout.get(v)!;
    if (have === want) return v;
    if (want === 'nchw' && have === 'nhwc') return op({ op: 'Transpose', name: `${v}_nchw`, inputs: [v], outputs: [`${v}_nchw`], attributes: [{ name: 'perm', ints: [0, 3, 1, 2] }] }, 'nchw');
    if (want === 'nhwc' && have === 'nchw') return op({ op: 'Transpose', name: `${v}_nhwc`, inputs: [v], outputs: [`${v}_nhwc`], attributes: [{ name: 'perm', ints: [0, 2, 3, 1] }] }, 'nhwc');
    if (want === 'flat') return op({ op: 'Flatten', name: `${v}_flat`, inputs: [as(v, 'nhwc')], outputs: [`${v}_flat`], attributes: [{ name: 'axis', int: 1 }] }, 'flat');
    problem ??= `cannot lay out ${v} as ${want} from ${have}`;
    return v;
  };

  try {
    layout.set('pixels', 'nhwc');
    let x = 'pixels';
    if (normalisation !== null) {
      const mean = init('normalise_mean', [normalisation.mean.length], Float32Array.from(normalisation.mean));
      const std = init('normalise_std', [normalisation.std.length], Float32Array.from(normalisation.std));
      x = op({ op: 'Sub', name: 'centre', inputs: [x, mean], outputs: ['centred'] }, 'nhwc');
      x = op({ op: 'Div', name: 'normalise', inputs: [x, std], outputs: ['normalised'] }, 'nhwc');
    }
    const out = new Map<string, string>();
    for (const n of net.graph.nodes as readonly Node[]) {
      const id = n.id;
      switch (n.kind) {
        case 'input':
          // A vector input (the MLP) takes the pixels flattened in NHWC order, as cpg does.
          out.set(id, n.shape.length === 1 ? as(x, 'flat') : x);
          break;
        case 'conv2d': {
          const k = tensorOf(`${id}/kernel`);
          const w = init(`${id}_W`, [k.dims[3]!, k.dims[2]!, k.dims[0]!, k.dims[1]!], oihw(k.data, k.dims));
          const inputs = [as(out.get(n.input)!, 'nchw'), w];
          if (n.bias) {
            const b = tensorOf(`${id}/bias`);
            inputs.push(init(`${id}_B`, b.dims, b.data));
          }
          out.set(
            id,
            op(
              {
                op: 'Conv',
                name: id,
                inputs,
                outputs: [id],
                attributes: [
                  { name: 'kernel_shape', ints: [n.kernel, n.kernel] },
                  { name: 'strides', ints: [n.stride, n.stride] },
                  // TensorFlow's 'same' puts the odd pixel of padding at the end: SAME_UPPER.
                  { name: 'auto_pad', string: n.padding === 'same' ? 'SAME_UPPER' : 'VALID' },
                ],
              },
              'nchw',
            ),
          );
          break;
        }
        case 'dense':
        case 'head': {
          const prefix = n.kind === 'head' ? 'head' : id;
          const k = tensorOf(`${prefix}/kernel`);
          const b = tensorOf(`${prefix}/bias`);
          out.set(id, op({ op: 'Gemm', name: id, inputs: [as(out.get(n.input)!, 'flat'), init(`${id}_W`, k.dims, k.data), init(`${id}_B`, b.dims, b.data)], outputs: [n.kind === 'head' ? 'logits' : id] }, 'flat'));
          break;
        }
        case 'batchNorm': {
          const v = out.get(n.input)!;
          const l = layout.get(v)!;
          const input = l === 'nhwc' ? as(v, 'nchw') : v;
          const p = ['gamma', 'beta', 'movingMean', 'movingVar'].map((w) => {
            const t = tensorOf(`${id}/${w}`);
            return init(`${id}_${w}`, t.dims, t.data);
          });
          out.set(id, op({ op: 'BatchNormalization', name: id, inputs: [input, ...p], outputs: [id], attributes: [{ name: 'epsilon', float: BN_EPS }] }, layout.get(input)!));
          break;
        }
        case 'relu': {
          const v = out.get(n.input)!;
          out.set(id, op({ op: 'Relu', name: id, inputs: [v], outputs: [id] }, layout.get(v)!));
          break;
        }
        case 'maxPool':
          out.set(
            id,
            op(
              {
                op: 'MaxPool',
                name: id,
                inputs: [as(out.get(n.input)!, 'nchw')],
                outputs: [id],
                attributes: [
                  { name: 'kernel_shape', ints: [n.size, n.size] },
                  { name: 'strides', ints: [n.stride, n.stride] },
                ],
              },
              'nchw',
            ),
          );
          break;
        case 'globalAvgPool': {
          const pooled = op({ op: 'GlobalAveragePool', name: id, inputs: [as(out.get(n.input)!, 'nchw')], outputs: [`${id}_pooled`] }, 'nchw');
          out.set(id, op({ op: 'Flatten', name: `${id}_flat`, inputs: [pooled], outputs: [id], attributes: [{ name: 'axis', int: 1 }] }, 'flat'));
          break;
        }
        case 'flatten':
          out.set(id, as(out.get(n.input)!, 'flat'));
          break;
        case 'add': {
          const [a, b] = n.inputs.map((i) => out.get(i)!);
          const l = layout.get(a!)!;
          out.set(id, op({ op: 'Add', name: id, inputs: [a!, as(b!, l)], outputs: [id] }, l));
          break;
        }
      }
    }
    if (problem !== undefined) return E.left(internalError(`the ONNX export failed: ${problem}`));
    const classes = net.param('head/bias').shape[0]!;
    return E.right(
      encodeModel({
        opset: ONNX_OPSET,
        producer: 'cpg',
        docString,
        graphName: 'cpg_task',
        nodes,
        initializers: inits,
        inputs: [{ name: 'pixels', dims: ['N', ...shape] }],
        outputs: [{ name: 'logits', dims: ['N', classes] }],
      }),
    );
  } catch (e) {
    return E.left(internalError(`the ONNX export failed: ${e instanceof Error ? e.message : String(e)}`));
  }
};
