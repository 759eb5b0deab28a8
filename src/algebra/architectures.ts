/**
 * Graph constructors for the architectures the library ships: an MLP, a
 * LeNet-5 style CNN for 28×28×1, a small VGG (benchmarks), VGG16-BN as the
 * reference uses it for 32×32×3, and ResNet-18 in its CIFAR form.
 * All are built at multiplier 1; grow them with widen().
 */
import type { Graph, Node, Padding } from './graph.js';

/** Appends nodes with generated ids; keeps the constructors short. */
class Builder {
  private readonly nodes: Node[] = [];
  private readonly counts = new Map<string, number>();
  constructor(input: readonly number[]) {
    this.nodes.push({ kind: 'input', id: 'input', shape: input });
  }
  private id(prefix: string): string {
    const n = (this.counts.get(prefix) ?? 0) + 1;
    this.counts.set(prefix, n);
    return `${prefix}${n}`;
  }
  private last(): string {
    return this.nodes[this.nodes.length - 1]!.id;
  }
  conv(filters: number, kernel: number, o: { stride?: number; padding?: Padding; bias?: boolean; from?: string } = {}): string {
    const id = this.id('conv');
    this.nodes.push({
      kind: 'conv2d',
      id,
      input: o.from ?? this.last(),
      filters,
      baseFilters: filters,
      kernel,
      stride: o.stride ?? 1,
      padding: o.padding ?? 'same',
      bias: o.bias ?? false,
    });
    return id;
  }
  dense(units: number): string {
    const id = this.id('dense');
    this.nodes.push({ kind: 'dense', id, input: this.last(), units, baseUnits: units });
    return id;
  }
  bn(from?: string): string {
    const id = this.id('bn');
    this.nodes.push({ kind: 'batchNorm', id, input: from ?? this.last() });
    return id;
  }
  relu(from?: string): string {
    const id = this.id('relu');
    this.nodes.push({ kind: 'relu', id, input: from ?? this.last() });
    return id;
  }
  pool(size = 2, stride = 2): string {
    const id = this.id('pool');
    this.nodes.push({ kind: 'maxPool', id, input: this.last(), size, stride });
    return id;
  }
  flatten(): string {
    const id = this.id('flatten');
    this.nodes.push({ kind: 'flatten', id, input: this.last() });
    return id;
  }
  gap(): string {
    const id = this.id('gap');
    this.nodes.push({ kind: 'globalAvgPool', id, input: this.last() });
    return id;
  }
  add(a: string, b: string): string {
    const id = this.id('add');
    this.nodes.push({ kind: 'add', id, inputs: [a, b] });
    return id;
  }
  graph(name: string, init: Graph['init']): Graph {
    this.nodes.push({ kind: 'head', id: 'head', input: this.last() });
    return { name, nodes: this.nodes.slice(), multiplier: 1, init };
  }
}

/** Fully connected: input → hidden… (ReLU) → head. Default 784-400-400. */
export const mlp = (input = 784, hidden: readonly number[] = [400, 400]): Graph => {
  const b = new Builder([input]);
  for (const h of hidden) {
    b.dense(h);
    b.relu();
  }
  return b.graph('mlp', 'he-fan-in');
};

/**
 * LeNet-5 style for 28×28×1: conv5 20, pool, conv5 50, pool ('same' padding),
 * dense 2450→500, head. Conv biases are task-private.
 */
export const lenet = (input: readonly [number, number, number] = [28, 28, 1]): Graph => {
  const b = new Builder(input);
  b.conv(20, 5, { bias: true });
  b.relu();
  b.pool();
  b.conv(50, 5, { bias: true });
  b.relu();
  b.pool();
  b.flatten();
  b.dense(500);
  b.relu();
  return b.graph('lenet', 'he-fan-in');
};

const vggBlock = (b: Builder, cfg: readonly (number | 'M')[]): void => {
  for (const v of cfg) {
    if (v === 'M') b.pool();
    else {
      b.conv(v, 3);
      b.bn();
      b.relu();
    }
  }
};

/**
 * The small VGG used by the speed benchmarks, for 32×32×3:
 * 64,64,M,128,128,M,256,256,M (3×3 conv + BN + ReLU), flatten, head.
 */
export const vggSmall = (input: readonly [number, number, number] = [32, 32, 3]): Graph => {
  const b = new Builder(input);
  vggBlock(b, [64, 64, 'M', 128, 128, 'M', 256, 256, 'M']);
  b.flatten();
  return b.graph('vgg-small', 'reference-vgg');
};

/**
 * VGG16-BN as the CPG reference builds it for CIFAR-100 (32×32×3):
 * 13 convs 64,64,M,128,128,M,256×3,M,512×3,M,512×3,M, then shared dense
 * 512→4096→4096 (ReLU), then one head per task.
 */
export const vgg16 = (input: readonly [number, number, number] = [32, 32, 3]): Graph => {
  const b = new Builder(input);
  vggBlock(b, [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']);
  b.flatten();
  b.dense(4096);
  b.relu();
  b.dense(4096);
  b.relu();
  return b.graph('vgg16', 'reference-vgg');
};

/**
 * ResNet-18, CIFAR variant: 3×3 stem of 64, four stages of two basic blocks
 * (64, 128, 256, 512; stride 2 from the second stage, 1×1 conv + BN on the
 * shortcut where the shape changes), global average pool, head.
 */
export const resnet18 = (input: readonly [number, number, number] = [32, 32, 3]): Graph => {
  const b = new Builder(input);
  b.conv(64, 3);
  b.bn();
  let x = b.relu();
  let channels = 64;
  for (const [stage, width] of [64, 128, 256, 512].entries()) {
    for (let block = 0; block < 2; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      b.conv(width, 3, { stride, from: x });
      b.bn();
      b.relu();
      b.conv(width, 3);
      const main = b.bn();
      let shortcut = x;
      if (stride !== 1 || channels !== width) {
        b.conv(width, 1, { stride, from: x });
        shortcut = b.bn();
      }
      b.add(main, shortcut);
      x = b.relu();
      channels = width;
    }
  }
  b.gap();
  return b.graph('resnet18', 'reference-vgg');
};

/** The architectures by the names the command line uses. */
export const architectureNames = ['mlp', 'lenet', 'vgg-small', 'vgg16', 'resnet18'] as const;
export type ArchitectureName = (typeof architectureNames)[number];

/** An architecture sized for images of `input` = [H, W, C] (the MLP flattens them). */
export const buildArchitecture = (name: ArchitectureName, input: readonly [number, number, number]): Graph => {
  switch (name) {
    case 'mlp':
      return mlp(input[0] * input[1] * input[2]);
    case 'lenet':
      return lenet(input);
    case 'vgg-small':
      return vggSmall(input);
    case 'vgg16':
      return vgg16(input);
    case 'resnet18':
      return resnet18(input);
  }
};

/** The architectures at their default input sizes. */
export const architectures: Readonly<Record<ArchitectureName, () => Graph>> = {
  mlp: () => mlp(),
  lenet: () => lenet(),
  'vgg-small': () => vggSmall(),
  vgg16: () => vgg16(),
  resnet18: () => resnet18(),
};
