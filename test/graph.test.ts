import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { architectures, mlp, lenet } from '../src/algebra/architectures.js';
import { inferShapes, paramSpecs, sharableSize, type Graph } from '../src/algebra/graph.js';

test('every shipped architecture is well-formed and ends in a vector head', () => {
  for (const [name, make] of Object.entries(architectures)) {
    const g = make();
    const shapes = inferShapes(g);
    assert.ok(E.isRight(shapes), `${name}: ${JSON.stringify(E.isLeft(shapes) ? shapes.left : '')}`);
    assert.equal(shapes.right.get('head')!.dims.length, 1, name);
  }
});

test('VGG16-BN has the reference shared backbone: 13 convs and 512→4096→4096', () => {
  const specs = paramSpecs(architectures.vgg16(), 5);
  assert.ok(E.isRight(specs));
  const sharable = specs.right.filter((s) => s.role === 'sharable');
  assert.equal(sharable.filter((s) => s.shape.length === 4).length, 13);
  assert.deepEqual(sharable.filter((s) => s.shape.length === 2).map((s) => s.shape), [[512, 4096], [4096, 4096]]);
  assert.equal(sharableSize(specs.right), 14710464 + 512 * 4096 + 4096 * 4096);
});

test('sharable and private tensors: kernels shared, biases, batch-norm and heads private', () => {
  const specs = paramSpecs(lenet(), 2);
  assert.ok(E.isRight(specs));
  const roles = Object.fromEntries(specs.right.map((s) => [s.name, s.role]));
  assert.deepEqual(roles, {
    'conv1/kernel': 'sharable', 'conv1/bias': 'private',
    'conv2/kernel': 'sharable', 'conv2/bias': 'private',
    'dense1/kernel': 'sharable', 'dense1/bias': 'private',
    'head/kernel': 'private', 'head/bias': 'private',
  });
});

const broken = (edit: (g: Graph) => Graph): string => {
  const r = inferShapes(edit(mlp()));
  assert.ok(E.isLeft(r));
  return r.left.message;
};

test('an ill-formed graph is a clear error value, never a throw', () => {
  assert.match(broken((g) => ({ ...g, nodes: g.nodes.filter((n) => n.kind !== 'head') })), /exactly one head/);
  assert.match(broken((g) => ({ ...g, nodes: [g.nodes[0]!, ...g.nodes.slice(2)] })), /'dense1' is not defined/);
  assert.match(broken((g) => ({ ...g, nodes: g.nodes.map((n) => (n.kind === 'dense' ? { ...n, units: 7 } : n)) })), /do not match base/);
  assert.match(broken((g) => ({ ...g, multiplier: 0.5 })), /multiplier/);
  const conv = inferShapes({ ...lenet(), nodes: lenet().nodes.map((n) => (n.kind === 'conv2d' ? { ...n, kernel: 40, padding: 'valid' as const } : n)) });
  assert.ok(E.isLeft(conv) && /does not fit/.test(conv.left.message));
});
