/**
 * Tiny ONNX graphs with the input and output signatures of real segmentation models and outputs
 * the tests know exactly: constants for boxes, scores and classes, and masks that are either
 * constants or simple functions of the input image (so that preprocessing is checked too).
 * Built with onnx-proto; run by the same onnxruntime-node the engines use.
 */
import { writeFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const data = Float32Array.from(values);
  return { name, dataType: FLOAT, dims, rawData: new Uint8Array(data.buffer) };
}

function int64Tensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return { name, dataType: INT64, dims, rawData: new Uint8Array(data.buffer) };
}

function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, number | number[] | onnxProto.onnx.ITensorProto> = {}): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(attrs).map(([name, v]): onnxProto.onnx.IAttributeProto => {
    if (typeof v === 'number') return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
    if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
    return { name, type: onnx.AttributeProto.AttributeType.TENSOR, t: v };
  });
  return { opType, input: inputs, output: outputs, attribute, name: `${opType}_${outputs[0]}` };
}

/** A Constant node producing a graph output. */
function constant(output: string, t: onnxProto.onnx.ITensorProto): onnxProto.onnx.INodeProto {
  return node('Constant', [], [output], { value: { ...t, name: `${output}_value` } });
}

async function save(file: string, graph: onnxProto.onnx.IGraphProto): Promise<string> {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'mediaflow-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: onnx.GraphProto.create(graph),
  });
  await writeFile(file, onnx.ModelProto.encode(model).finish());
  return file;
}

export interface MaskRcnnDetection {
  box: [number, number, number, number];
  label: number;
  score: number;
}

/**
 * torchvision layout: input `image` [3, H, W] (RGB 0..1, any size); outputs `boxes`, `labels`,
 * `scores` (constants) and `masks` [3, 1, H, W] where the mask of detection c is input channel c
 * (red, green, blue): so an image with a red and a green shape has known masks, and the RGB order
 * and 0..1 scaling are checked. Exactly three detections.
 */
export async function buildTorchvisionMaskRcnn(file: string, dets: [MaskRcnnDetection, MaskRcnnDetection, MaskRcnnDetection]): Promise<string> {
  return save(file, {
    name: 'maskrcnn-torchvision-like',
    input: [valueInfo('image', FLOAT, [3, 'height', 'width'])],
    output: [
      valueInfo('boxes', FLOAT, [3, 4]),
      valueInfo('labels', INT64, [3]),
      valueInfo('scores', FLOAT, [3]),
      valueInfo('masks', FLOAT, [3, 1, 'height', 'width']),
    ],
    initializer: [int64Tensor('axes1', [1], [1])],
    node: [
      constant('boxes', floatTensor('b', [3, 4], dets.flatMap((d) => d.box))),
      constant('labels', int64Tensor('l', [3], dets.map((d) => d.label))),
      constant('scores', floatTensor('s', [3], dets.map((d) => d.score))),
      node('Unsqueeze', ['image', 'axes1'], ['masks']),
    ],
  });
}

/**
 * ONNX model zoo layout: input `image` [3, H, W] (BGR minus mean); outputs boxes in the resized
 * frame, labels, scores and 28×28 masks, all constants. The masks output also adds 0 × the mean of
 * the input, so the graph consumes its input as a real model does.
 */
export async function buildZooMaskRcnn(file: string, dets: MaskRcnnDetection[], masks28: Float32Array[]): Promise<string> {
  const n = dets.length;
  const flat = new Float32Array(n * 28 * 28);
  masks28.forEach((m, i) => flat.set(m, i * 784));
  return save(file, {
    name: 'maskrcnn-zoo-like',
    input: [valueInfo('image', FLOAT, [3, 'height', 'width'])],
    output: [
      valueInfo('6568', FLOAT, [n, 4]),
      valueInfo('6570', INT64, [n]),
      valueInfo('6572', FLOAT, [n]),
      valueInfo('6887', FLOAT, [n, 1, 28, 28]),
    ],
    initializer: [floatTensor('m28', [n, 1, 28, 28], flat), floatTensor('zero', [], [0])],
    node: [
      constant('6568', floatTensor('b', [n, 4], dets.flatMap((d) => d.box))),
      constant('6570', int64Tensor('l', [n], dets.map((d) => d.label))),
      constant('6572', floatTensor('s', [n], dets.map((d) => d.score))),
      node('ReduceMean', ['image'], ['mean'], { keepdims: 0 }),
      node('Mul', ['mean', 'zero'], ['nothing']),
      node('Add', ['m28', 'nothing'], ['6887']),
    ],
  });
}

/**
 * Ultralytics YOLO-seg layout with input `images` [1, 3, S, S] and nm = 2 prototypes at S/4:
 * prototype 0 is a constant (+10 inside `protoBox` cells, −10 elsewhere); prototype 1 is
 * 20·(mean of the red channel over each 4×4 cell) − 10, so it marks red pixels of the letterboxed
 * input. `output0` is either the standard `[1, 4 + nc + 2, anchors]` (each row a box centre/size,
 * class scores, two coefficients) or, with `endToEnd`, `[1, rows, 8]` (x0, y0, x1, y1, score,
 * class, two coefficients).
 */
export async function buildYoloSeg(file: string, opts: { size: number; nc: number; protoBox: [number, number, number, number]; output0: number[][]; endToEnd?: boolean }): Promise<string> {
  const S = opts.size, P = S / 4;
  const proto0 = new Float32Array(P * P).map((_, i) => {
    const x = i % P, y = Math.floor(i / P);
    const [x0, y0, x1, y1] = opts.protoBox;
    return x >= x0 && x < x1 && y >= y0 && y < y1 ? 10 : -10;
  });
  const rows = opts.output0;
  let dims: number[];
  let flat: number[];
  if (opts.endToEnd) {
    dims = [1, rows.length, 8];
    flat = rows.flat();
  } else {
    // rows are given per anchor; the standard layout is channels-first
    const C = 4 + opts.nc + 2, A = rows.length;
    dims = [1, C, A];
    flat = new Array(C * A);
    for (let a = 0; a < A; a++) for (let c = 0; c < C; c++) flat[c * A + a] = rows[a][c];
  }
  return save(file, {
    name: 'yolo-seg-like',
    input: [valueInfo('images', FLOAT, [1, 3, S, S])],
    output: [valueInfo('output0', FLOAT, dims), valueInfo('output1', FLOAT, [1, 2, P, P])],
    initializer: [
      floatTensor('p0', [1, 1, P, P], proto0),
      floatTensor('twenty', [], [20]),
      floatTensor('ten', [], [10]),
      int64Tensor('starts', [1], [0]),
      int64Tensor('ends', [1], [1]),
      int64Tensor('axis1', [1], [1]),
    ],
    node: [
      constant('output0', floatTensor('o0', dims, flat)),
      node('Slice', ['images', 'starts', 'ends', 'axis1'], ['red']),
      node('AveragePool', ['red'], ['redCells'], { kernel_shape: [4, 4], strides: [4, 4] }),
      node('Mul', ['redCells', 'twenty'], ['red20']),
      node('Sub', ['red20', 'ten'], ['p1']),
      node('Concat', ['p0', 'p1'], ['output1'], { axis: 1 }),
    ],
  });
}
