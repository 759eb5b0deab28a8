/**
 * The few ONNX messages an exported model needs, in protobuf's wire format
 * (onnx.proto field numbers), written by hand: ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto and ValueInfoProto. Pure: bytes in,
 * bytes out, no dependency.
 */

/** A message's fields, written in order. */
class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: 0 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, n: number): this {
    this.tag(field, 0);
    this.varint(n);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  float(field: number, x: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.push(b);
    return this;
  }

  /** Repeated int64, packed. */
  ints(field: number, xs: readonly number[]): this {
    const inner = new Writer();
    for (const x of xs) inner.varint(x);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** An attribute of a node. */
export type Attribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly string: string };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attributes?: readonly Attribute[];
}

/** A constant tensor (an initializer): float32 or int64 values. */
export type Initializer =
  | { readonly name: string; readonly dims: readonly number[]; readonly float: Float32Array }
  | { readonly name: string; readonly dims: readonly number[]; readonly int64: readonly number[] };

/** A graph input or output: float32, each dimension a size or a symbolic name (dynamic). */
export interface ValueInfo {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

export interface OnnxModel {
  readonly opset: number;
  readonly producer: string;
  readonly docString?: string;
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly Initializer[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
/** IR version 8 (ONNX 1.10+): opset 13 and later. */
const IR_VERSION = 8;

const attribute = (a: Attribute): Uint8Array => {
  const w = new Writer().string(1, a.name);
  if ('int' in a) w.int(3, a.int).int(20, ATTR_INT);
  else if ('float' in a) w.float(2, a.float).int(20, ATTR_FLOAT);
  else if ('ints' in a) w.ints(8, a.ints).int(20, ATTR_INTS);
  else w.bytes(4, new TextEncoder().encode(a.string)).int(20, ATTR_STRING);
  return w.finish();
};

const node = (n: OnnxNode): Uint8Array => {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const a of n.attributes ?? []) w.bytes(5, attribute(a));
  return w.finish();
};

const tensor = (t: Initializer): Uint8Array => {
  const w = new Writer().ints(1, t.dims);
  if ('float' in t) {
    // raw_data is little-endian float32 (cpg already refuses big-endian machines).
    const raw = new Uint8Array(t.float.buffer.slice(t.float.byteOffset, t.float.byteOffset + t.float.byteLength));
    return w.int(2, FLOAT).string(8, t.name).bytes(9, raw).finish();
  }
  return w.int(2, INT64).ints(7, t.int64).string(8, t.name).finish();
};

const valueInfo = (v: ValueInfo): Uint8Array => {
  const shape = new Writer();
  for (const d of v.dims) shape.bytes(1, typeof d === 'number' ? new Writer().int(1, d).finish() : new Writer().string(2, d).finish());
  const tensorType = new Writer().int(1, FLOAT).bytes(2, shape.finish()).finish();
  const type = new Writer().bytes(1, tensorType).finish();
  return new Writer().string(1, v.name).bytes(2, type).finish();
};

/** The model as an .onnx file's bytes. */
export const encodeModel = (m: OnnxModel): Uint8Array => {
  const g = new Writer();
  for (const n of m.nodes) g.bytes(1, node(n));
  g.string(2, m.graphName);
  for (const t of m.initializers) g.bytes(5, tensor(t));
  for (const i of m.inputs) g.bytes(11, valueInfo(i));
  for (const o of m.outputs) g.bytes(12, valueInfo(o));
  const w = new Writer().int(1, IR_VERSION).string(2, m.producer).string(3, '0.1.0');
  if (m.docString !== undefined) w.string(6, m.docString);
  w.bytes(7, g.finish());
  w.bytes(8, new Writer().string(1, '').int(2, m.opset).finish());
  return w.finish();
};
