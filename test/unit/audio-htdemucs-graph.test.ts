import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { defaultConfig } from '../../src/config/load-config.js';
import { resolveModel } from '../../src/models/index.js';
import { rewriteHtdemucsGraph } from '../../src/processors/separate/htdemucs.graph.js';

const { onnx } = onnxProto;
const FLOAT = 1;
const INT64 = 7;
const ATTR = onnx.AttributeProto.AttributeType;

// The attention block exactly as PyTorch exports nn.MultiheadAttention (q and k each scaled by
// √(1/√head_size), Softmax over the keys), on a small cross-attention: 6 queries, 5 keys, 2 heads of 4.
const S = 6, L = 5, H = 2, HD = 4, D = H * HD;

function attentionModel(): Uint8Array {
  const ints = (name: string, v: number[]) => onnx.TensorProto.create({ name, dataType: INT64, dims: [v.length], int64Data: v });
  const n = (opType: string, input: string[], output: string[], attribute: object[] = []) => onnx.NodeProto.create({ opType, name: output[0], input, output, attribute });
  const perm = (p: number[]) => [{ name: 'perm', type: ATTR.INTS, ints: p }];
  const heads = (x: string, tag: string) => [
    n('Reshape', [x, `${tag}_split`], [`${tag}_bshd`]),
    n('Transpose', [`${tag}_bshd`], [`${tag}_bhsd0`], perm([0, 2, 1, 3])),
    n('Reshape', [`${tag}_bhsd0`, `${tag}_bhsd_shape`], [`${tag}_bhsd`]),
  ];
  const io = (name: string, dims: number[]) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const graph = onnx.GraphProto.create({
    name: 'attention',
    input: [io('xq', [1, S, D]), io('xk', [1, L, D]), io('xv', [1, L, D])],
    output: [io('y', [1, S, D])],
    initializer: [
      ints('q_split', [1, S, H, HD]), ints('k_split', [1, L, H, HD]), ints('v_split', [1, L, H, HD]),
      ints('q_bhsd_shape', [1, H, S, HD]), ints('k_bhsd_shape', [1, H, L, HD]), ints('v_bhsd_shape', [1, H, L, HD]),
      ints('y_shape', [1, S, D]),
      onnx.TensorProto.create({ name: 'scale', dataType: FLOAT, dims: [], floatData: [Math.sqrt(1 / Math.sqrt(HD))] }),
    ],
    node: [
      ...heads('xq', 'q'), ...heads('xk', 'k'), ...heads('xv', 'v'),
      n('Mul', ['q_bhsd', 'scale'], ['q_scaled']),
      n('Transpose', ['k_bhsd'], ['k_t'], perm([0, 1, 3, 2])),
      n('Mul', ['k_t', 'scale'], ['k_scaled']),
      n('MatMul', ['q_scaled', 'k_scaled'], ['scores']),
      n('Softmax', ['scores'], ['weights'], [{ name: 'axis', type: ATTR.INT, i: -1 }]),
      n('MatMul', ['weights', 'v_bhsd'], ['o_bhsd']),
      n('Transpose', ['o_bhsd'], ['o_bshd'], perm([0, 2, 1, 3])),
      n('Reshape', ['o_bshd', 'y_shape'], ['y']),
    ],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph })).finish();
}

async function run(bytes: Uint8Array, feeds: Record<string, Float32Array>, dims: Record<string, number[]>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v, dims[k])]));
    const out = await session.run(inputs);
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

const opTypes = (bytes: Uint8Array) => (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => n.opType);

test('the attention block becomes one MultiHeadAttention with the same output', async () => {
  const original = attentionModel();
  const rewritten = rewriteHtdemucsGraph(original);
  assert.equal(rewritten.attention, 1);
  const ops = opTypes(rewritten.bytes);
  assert.ok(ops.includes('MultiHeadAttention'), ops.join());
  assert.ok(!ops.includes('Softmax') && !ops.includes('MatMul'), `the plain block is gone: ${ops.join()}`);

  let seed = 7;
  const rand = (n: number) => Float32Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed / 2 ** 32 - 0.5) * 4; });
  const feeds = { xq: rand(S * D), xk: rand(L * D), xv: rand(L * D) };
  const dims = { xq: [1, S, D], xk: [1, L, D], xv: [1, L, D] };
  const want = await run(original, feeds, dims);
  const got = await run(rewritten.bytes, feeds, dims);
  assert.equal(got.length, want.length);
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
  // Not trivially equal: the output depends on the keys (a softmax over them, not an average).
  assert.ok(want.some((v, i) => Math.abs(v - feeds.xv[i % (L * D)]) > 1e-3));
});

test('constant reshapes infer their first dimension and the batch is symbolic', async () => {
  const rewritten = rewriteHtdemucsGraph(attentionModel());
  const g = onnx.ModelProto.decode(rewritten.bytes).graph!;
  assert.ok(rewritten.reshapes >= 7, `reshapes made to infer a dimension: ${rewritten.reshapes}`);
  const shapeOf = (name: string) => {
    const t = g.initializer!.find((i) => i.name === name)!;
    return t.int64Data!.map(Number);
  };
  for (const r of g.node!.filter((n) => n.opType === 'Reshape')) {
    const s = shapeOf(r.input![1]);
    assert.ok(s[0] === -1 || s[0] === 0, `${r.name}: ${s.join()}`);
  }
  for (const i of g.input!) assert.equal(i.type!.tensorType!.shape!.dim![0].dimParam, 'batch');
});

test('a graph without the attention pattern keeps its nodes and still runs', async () => {
  const io = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 6 }] } } } });
  const graph = onnx.GraphProto.create({
    name: 'plain', input: [io('x')], output: [io('y')],
    node: [onnx.NodeProto.create({ opType: 'Softmax', name: 'sm', input: ['x'], output: ['y'], attribute: [{ name: 'axis', type: ATTR.INT, i: -1 }] })],
  });
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph })).finish();
  const r = rewriteHtdemucsGraph(bytes);
  assert.equal(r.attention, 0);
  assert.deepEqual(opTypes(r.bytes), ['Softmax']);
  const y = await run(r.bytes, { x: Float32Array.from([1, 2, 3, 4, 5, 6]) }, { x: [1, 6] });
  assert.ok(Math.abs(y.reduce((a, v) => a + v, 0) - 1) < 1e-6);
});

test('the shipped htdemucs export: its 10 attention blocks are fused', async () => {
  const model = await resolveModel('htdemucs', defaultConfig({ data: '/nonexistent-mediaflow-data' }));
  const r = rewriteHtdemucsGraph(await readFile(model.path));
  assert.equal(r.attention, 10);
  assert.ok(r.reshapes > 50, String(r.reshapes));
  const ops = opTypes(r.bytes);
  assert.equal(ops.filter((o) => o === 'MultiHeadAttention').length, 10);
  assert.equal(ops.filter((o) => o === 'Softmax').length, 0);
});
