import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

// The decoded messages always carry their repeated fields (as empty arrays when absent).
const ins = (n: Node) => n.input ?? [];
const outs = (n: Node) => n.output ?? [];

const INT64 = 7;
const ATTR = onnx.AttributeProto.AttributeType;

export interface GraphRewrite {
  bytes: Uint8Array;
  /** Attention blocks now run as one fused `MultiHeadAttention` each. */
  attention: number;
  /** `Reshape`s whose constant target shape now infers its first dimension (-1). */
  reshapes: number;
}

/**
 * Rewrites the htdemucs ONNX export so that ONNX Runtime runs it in a fraction of the memory, with
 * the same weights and the same results (to float rounding, ~115 dB):
 *
 * 1. Each attention block of the cross-transformer, exported as MatMul(q·s, kᵀ·s) → Softmax →
 *    MatMul(·, v), becomes one `com.microsoft.MultiHeadAttention`, whose CPU kernel is a flash
 *    attention: it never holds the [heads][tokens][tokens] score matrix (8 × 2688² floats, 231 MB,
 *    and as much again for the Softmax's output) that the plain graph materialises.
 * 2. The batch dimension of the inputs and outputs is made symbolic, and every `Reshape` to a
 *    constant shape infers its first dimension (-1, the same value at run time). With every size
 *    known in advance, ORT's allocation planner hands a freed buffer to any later tensor of the
 *    same byte size; in this U-shaped network the encoder's buffers match the decoder's, so they
 *    stayed allocated through the whole transformer (~1.3 GB held for nothing). With sizes known
 *    only at run time, a buffer is released after its last use.
 *
 * Blocks that do not match the exported pattern are left as they are.
 */
export function rewriteHtdemucsGraph(input: Uint8Array): GraphRewrite {
  const model = onnx.ModelProto.decode(input);
  const graph = model.graph;
  if (!graph) throw new Error('not an ONNX model: no graph');
  const attention = fuseAttention(graph);
  if (attention > 0 && !(model.opsetImport ?? []).some((o) => o.domain === 'com.microsoft')) {
    model.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }));
  }
  const reshapes = deferShapes(graph);
  removeDeadNodes(graph);
  return { bytes: onnx.ModelProto.encode(model).finish(), attention, reshapes };
}

interface Index { producer: Map<string, Node>; consumers: Map<string, Node[]>; constants: Map<string, Tensor> }

function index(graph: Graph): Index {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  const constants = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) constants.set(t.name ?? '', t);
  for (const n of graph.node ?? []) {
    for (const o of outs(n)) producer.set(o, n);
    for (const i of ins(n)) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    if (n.opType === 'Constant') {
      const value = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (value) constants.set(outs(n)[0], value);
    }
  }
  return { producer, consumers, constants };
}

function int64s(t: Tensor | undefined): number[] | null {
  if (!t || t.dataType !== INT64) return null;
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map(Number);
  const raw = t.rawData;
  if (!raw || raw.length % 8 !== 0) return null;
  const copy = new Uint8Array(raw);
  return Array.from(new BigInt64Array(copy.buffer), Number);
}

function int64Initializer(graph: Graph, name: string, values: number[]): string {
  (graph.initializer ??= []).push(onnx.TensorProto.create({ name, dataType: INT64, dims: [values.length], int64Data: values }));
  return name;
}

const node = (opType: string, name: string, input: string[], output: string[], attribute: object[] = [], domain?: string): Node =>
  onnx.NodeProto.create({ opType, name, input, output, attribute, ...(domain ? { domain } : {}) });

const PERM_BHSD_BSHD = [0, 2, 1, 3];

/** One attention block as exported: the tensors that feed it, its output and its last node. */
interface Attention { q: string; k: string; v: string; out: string; last: Node; heads: number | null }

function matchAttention(softmax: Node, ix: Index): Attention | null {
  const only = (name: string) => { const c = ix.consumers.get(name) ?? []; return c.length === 1 ? c[0] : null; };
  const scores = ix.producer.get(ins(softmax)[0]);
  const apply = only(outs(softmax)[0]);
  if (!scores || !apply || scores.opType !== 'MatMul' || apply.opType !== 'MatMul' || ins(apply)[0] !== outs(softmax)[0]) return null;
  if (only(outs(scores)[0]) !== softmax) return null;
  const qScale = ix.producer.get(ins(scores)[0]);
  const kScale = ix.producer.get(ins(scores)[1]);
  if (qScale?.opType !== 'Mul' || kScale?.opType !== 'Mul') return null;
  const kT = ix.producer.get(ins(kScale)[0]);
  const perm = (kT?.attribute ?? []).find((a) => a.name === 'perm')?.ints?.map(Number);
  if (kT?.opType !== 'Transpose' || perm?.join() !== '0,1,3,2') return null;
  // q and k are each scaled by √(1/√head_size), as PyTorch exports scaled_dot_product_attention:
  // the fused kernel's default scale (1/√head_size) is the same product.
  const q = ins(qScale)[0];
  const qSplit = ix.producer.get(q);
  const shape = qSplit?.opType === 'Reshape' ? int64s(ix.constants.get(ins(qSplit)[1])) : null;
  return { q, k: ins(kT)[0], v: ins(apply)[1], out: outs(apply)[0], last: apply, heads: shape?.length === 4 ? shape[1] : null };
}

function fuseAttention(graph: Graph): number {
  const ix = index(graph);
  const found = (graph.node ?? []).filter((n) => n.opType === 'Softmax').map((s) => matchAttention(s, ix)).filter((a): a is Attention => a !== null);
  if (found.length === 0) return 0;
  // Blocks whose head split is computed at run time (the time branch's) share the head count of
  // those with a constant one: one transformer width throughout.
  const known = new Set(found.filter((a) => a.heads && a.heads > 0).map((a) => a.heads));
  if (known.size !== 1) return 0;
  const heads = [...known][0]!;
  const replaced = new Map<Node, Node[]>();
  found.forEach((a, i) => {
    const p = `/mediaflow/attention.${i}`;
    // [batch, heads, tokens, head_size] ↔ [batch, tokens, heads·head_size], the fused kernel's layout.
    const toBsd = int64Initializer(graph, `${p}/bsd`, [0, 0, -1]);
    const toBshd = int64Initializer(graph, `${p}/bshd`, [0, 0, heads, -1]);
    const added: Node[] = [];
    const flat = (x: string, tag: string) => {
      added.push(node('Transpose', `${p}/${tag}/Transpose`, [x], [`${p}/${tag}/bshd`], [{ name: 'perm', type: ATTR.INTS, ints: PERM_BHSD_BSHD }]));
      added.push(node('Reshape', `${p}/${tag}/Reshape`, [`${p}/${tag}/bshd`, toBsd], [`${p}/${tag}/bsd`]));
      return `${p}/${tag}/bsd`;
    };
    const q = flat(a.q, 'q');
    const k = flat(a.k, 'k');
    const v = flat(a.v, 'v');
    added.push(node('MultiHeadAttention', `${p}/MultiHeadAttention`, [q, k, v], [`${p}/out/bsd`], [{ name: 'num_heads', type: ATTR.INT, i: heads }], 'com.microsoft'));
    added.push(node('Reshape', `${p}/out/Reshape`, [`${p}/out/bsd`, toBshd], [`${p}/out/bshd`]));
    added.push(node('Transpose', `${p}/out/Transpose`, [`${p}/out/bshd`], [a.out], [{ name: 'perm', type: ATTR.INTS, ints: PERM_BHSD_BSHD }]));
    // The new nodes take the place of the block's last node, after everything that feeds it; the
    // rest of the block (scores, Softmax, scaling) then feeds nothing and goes with the dead nodes.
    replaced.set(a.last, added);
  });
  graph.node = (graph.node ?? []).flatMap((n) => replaced.get(n) ?? [n]);
  return found.length;
}

function deferShapes(graph: Graph): number {
  const inputs = graph.input ?? [];
  for (const vi of [...inputs, ...(graph.output ?? [])]) {
    const dims = vi.type?.tensorType?.shape?.dim ?? [];
    dims.forEach((d, i) => {
      // Inputs: only the batch dimension; outputs: every dimension (they follow from the inputs).
      if (inputs.includes(vi) && i > 0) return;
      d.dimValue = null;
      d.dimParam = inputs.includes(vi) ? 'batch' : `${vi.name}_${i}`;
    });
  }
  graph.valueInfo = [];
  const ix = index(graph);
  let changed = 0;
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Reshape') continue;
    const shape = int64s(ix.constants.get(ins(n)[1]));
    if (!shape || shape.length === 0 || shape.some((d) => d <= 0)) continue;
    ins(n)[1] = int64Initializer(graph, `/mediaflow/reshape.${changed++}`, [-1, ...shape.slice(1)]);
  }
  return changed;
}

/** Drops nodes whose outputs nothing reads (the shape arithmetic of replaced blocks), then unused initializers. */
function removeDeadNodes(graph: Graph): void {
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  let nodes = graph.node ?? [];
  for (;;) {
    const read = new Set<string>(outputs);
    for (const n of nodes) for (const i of ins(n)) read.add(i);
    const kept = nodes.filter((n) => outs(n).some((o) => read.has(o)));
    if (kept.length === nodes.length) break;
    nodes = kept;
  }
  graph.node = nodes;
  const read = new Set(nodes.flatMap(ins));
  graph.initializer = (graph.initializer ?? []).filter((t) => read.has(t.name ?? ''));
}
