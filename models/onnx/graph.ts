/**
 * A small builder of ONNX graphs (opset 17) in TypeScript, serialised with onnx-proto (the ONNX
 * schema compiled for protobufjs). The server's graphs (encoderGraphs.ts) are written with it at
 * start-up from the model configuration and the checkpoint's weights: frozen weights become
 * initializers, everything that changes (activations, LoRA adapters, cut gradients) an input.
 * Values are named by the builder (`v<n>`) unless the caller names them.
 */
import { onnx } from 'onnx-proto';

/** A dimension: a fixed size, or a symbolic one (any size at run time). */
export type Dim = number | string;

const OPSET = 17;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

type AttrValue = number | number[] | { float: number };

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (typeof v === 'object') return { name, type: A.FLOAT, f: v.float };
  return { name, type: A.INT, i: v };
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  private next = 0;

  constructor(readonly name: string) {}

  private fresh(): string {
    return `v${this.next++}`;
  }

  /** A float input of `dims` (symbolic dimensions by name). */
  input(name: string, dims: readonly Dim[], elemType: number = FLOAT): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** An int64 input (token ids). */
  inputInt64(name: string, dims: readonly Dim[]): string {
    return this.input(name, dims, INT64);
  }

  /** Marks `value` as a graph output named `name` (an Identity when the names differ). */
  output(name: string, value: string, dims: readonly Dim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', input: [value], output: [name] });
    this.outputs.push(valueInfo(name, FLOAT, dims));
  }

  /** A frozen float tensor (an initializer). */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    this.initializers.push({
      name,
      dataType: FLOAT,
      dims: dims.slice(),
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** An int64 constant (shapes, axes), shared between its uses. */
  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = `c_i${this.constants.size}`;
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: INT64, dims: [values.length], rawData: new Uint8Array(data.buffer) });
    this.constants.set(key, name);
    return name;
  }

  /** A float scalar constant, shared between its uses. */
  scalar(value: number): string {
    const key = `f:${value}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = `c_f${this.constants.size}`;
    this.initializers.push({ name, dataType: FLOAT, dims: [], rawData: new Uint8Array(Float32Array.of(value).buffer) });
    this.constants.set(key, name);
    return name;
  }

  /** One node with one output. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    const out = this.fresh();
    this.nodes.push({ opType, input: inputs.slice(), output: [out], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return out;
  }

  matMul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.ints(shape)]);
  }
  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm: perm.slice() });
  }
  /** Mean over `axes`, kept as size-1 dimensions. */
  mean(x: string, axes: readonly number[]): string {
    return this.op('ReduceMean', [x], { axes: axes.slice(), keepdims: 1 });
  }
  /** Sum over `axes`, kept as size-1 dimensions (opset 13+: axes as an input). */
  sum(x: string, axes: readonly number[]): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims: 1 });
  }

  /** The serialised ModelProto. */
  toBytes(): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: 'airlora',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}
