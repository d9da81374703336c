import onnxProto from 'onnx-proto';
import { MediaflowError } from '../../core/errors.js';
import { type KerasLayer, type LayersModelFiles, weightsByName } from './esrgan.weights.js';

const { onnx } = onnxProto;

/**
 * Translates the ESRGAN TF.js layers models into an ONNX graph, in memory, so onnxruntime-node
 * can run the very same weights natively (multi-threaded MLAS kernels instead of single-threaded
 * WebAssembly). No converter for TF.js layers models installs from npm, and these graphs use only
 * nine layer types, so the translation is written here; any other layer is refused rather than
 * guessed. The result is checked against the tfjs-wasm runtime in
 * test/integration/upscale-runtimes.test.ts.
 *
 * The graph's contract is the same for every model: input `image` float32 [1, H, W, 3] (NHWC,
 * 0..255), output `upscaled` float32 [1, H·s, W·s, 3] (NHWC, clipped to 0..255). The model's own
 * value range (0..1 for RRDN) and the NCHW layout ONNX convolutions use are handled inside.
 */
export interface OnnxConversion {
  bytes: Uint8Array;
  scale: number;
}

const FLOAT = 1;
const ATTR = onnx.AttributeProto.AttributeType;

type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

function attrInts(name: string, ints: number[]) { return { name, type: ATTR.INTS, ints }; }
function attrInt(name: string, i: number) { return { name, type: ATTR.INT, i }; }
function attrStr(name: string, s: string) { return { name, type: ATTR.STRING, s: new TextEncoder().encode(s) }; }

function floatTensor(name: string, dims: number[], data: Float32Array): Tensor {
  // rawData is little-endian; every platform Node runs ONNX Runtime on is little-endian.
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}

/** Keras HWIO kernel → ONNX OIHW. */
function hwioToOihw(k: Float32Array, [h, w, i, o]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < i; c++) {
    const src = ((y * w + x) * i + c) * o;
    for (let f = 0; f < o; f++) out[((f * i + c) * h + y) * w + x] = k[src + f];
  }
  return out;
}

/**
 * Folds a nearest-neighbour ×s upsampling into the `same`-padded k×k convolution that follows it:
 * conv(upsample(x)) = depthToSpace(conv'(x)), with conv' running at the low resolution and giving
 * s²·O channels, one group per sub-pixel phase (i, j), in DepthToSpace's DCR order
 * `(i·s + j)·O + o`. Each phase sees the input through the same taps, merged where several
 * high-resolution taps fall on one low-resolution pixel, so the result is the same up to float
 * rounding, borders included (zero padding beyond the edge either way). What it saves: the
 * upsampled tensor (at ×8, 64 times the features in memory) and a high-resolution convolution with
 * only 3 output channels, the least efficient shape there is; the multiply-adds are the same.
 * Returns an HWIO kernel of size (2r+1)² and its padding r.
 */
export function subPixelKernel(kernel: Float32Array, [kh, kw, ci, co]: number[], s: number): { data: Float32Array; shape: number[]; pad: number } {
  const p = (kh - 1) / 2;
  const r = Math.max(-Math.floor(-p / s), Math.floor((s - 1 + p) / s));
  const k = 2 * r + 1;
  const oc = s * s * co;
  const out = new Float32Array(k * k * ci * oc);
  for (let py = 0; py < s; py++) for (let px = 0; px < s; px++) {
    const phase = (py * s + px) * co;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const ly = Math.floor((py + ky - p) / s) + r;
      const lx = Math.floor((px + kx - p) / s) + r;
      for (let c = 0; c < ci; c++) {
        const src = ((ky * kw + kx) * ci + c) * co;
        const dst = ((ly * k + lx) * ci + c) * oc + phase;
        for (let o = 0; o < co; o++) out[dst + o] += kernel[src + o];
      }
    }
  }
  return { data: out, shape: [k, k, ci, oc], pad: r };
}

function unsupported(layer: KerasLayer, why: string): never {
  throw new MediaflowError('MODEL_MISSING', `cannot convert layer ${layer.name} (${layer.class_name}) to ONNX: ${why}`);
}

export function convertLayersModelToOnnx(files: LayersModelFiles, opts: { range: 255 | 1 }): OnnxConversion {
  const cfg = files.modelTopology.model_config;
  if (cfg.class_name !== 'Functional' && cfg.class_name !== 'Model') {
    throw new MediaflowError('MODEL_MISSING', `unsupported model class ${cfg.class_name}`);
  }
  const weights = weightsByName(files);
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const constant = (name: string, values: number[], dims: number[] = [values.length]) => {
    inits.push(floatTensor(name, dims, Float32Array.from(values)));
    return name;
  };
  let scale = 1;
  let inputName = '';

  nodes.push(onnx.NodeProto.create({ opType: 'Transpose', input: ['image'], output: ['image_nchw'], name: 'to_nchw', attribute: [attrInts('perm', [0, 3, 1, 2])] }));
  let modelInput = 'image_nchw';
  if (opts.range === 1) {
    nodes.push(onnx.NodeProto.create({ opType: 'Mul', input: ['image_nchw', constant('inv255', [1 / 255], [])], output: ['image_unit'], name: 'to_unit' }));
    modelInput = 'image_unit';
  }

  const layers = cfg.config.layers;
  const consumers = new Map<string, KerasLayer[]>();
  for (const l of layers) for (const [name] of l.inbound_nodes[0] ?? []) consumers.set(name, [...(consumers.get(name) ?? []), l]);
  /** Upsamplings folded into the convolution after them (see subPixelKernel): name → factor. */
  const folded = new Map<string, { input: string; s: number }>();
  for (const l of layers) {
    if (l.class_name !== 'UpSampling2D') continue;
    const size = l.config.size as number[];
    const next = consumers.get(l.name) ?? [];
    const conv = next[0];
    const k = conv?.config.kernel_size as number[] | undefined;
    if (size[0] === size[1] && (l.config.interpolation ?? 'nearest') === 'nearest' && next.length === 1
      && conv.class_name === 'Conv2D' && conv.config.padding === 'same' && k && k[0] === k[1] && k[0] % 2 === 1
      && !(conv.config.strides as number[] | undefined)?.some((v) => v !== 1)
      && !(conv.config.dilation_rate as number[] | undefined)?.some((v) => v !== 1)) {
      folded.set(l.name, { input: l.inbound_nodes[0][0][0], s: size[0] });
    }
  }

  for (const layer of layers) {
    const c = layer.config;
    const inputs = (layer.inbound_nodes[0] ?? []).map(([name, nodeIndex, tensorIndex]) => {
      if (nodeIndex !== 0 || tensorIndex !== 0) unsupported(layer, 'shared layers are not supported');
      return name;
    });
    const out = layer.name;
    switch (layer.class_name) {
      case 'InputLayer':
        inputName = layer.name;
        nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [modelInput], output: [out], name: out }));
        break;
      case 'Conv2D': {
        const k = c.kernel_size as number[];
        if ((c.strides as number[] | undefined)?.some((s) => s !== 1)) unsupported(layer, 'strides other than 1');
        if ((c.dilation_rate as number[] | undefined)?.some((d) => d !== 1)) unsupported(layer, 'dilation');
        if (c.data_format && c.data_format !== 'channels_last') unsupported(layer, String(c.data_format));
        if ((c.groups as number | undefined ?? 1) !== 1) unsupported(layer, 'grouped convolution');
        const kernel = weights.get(`${layer.name}/kernel`);
        if (!kernel) unsupported(layer, 'kernel weights missing');
        const bias = weights.get(`${layer.name}/bias`);
        let pads = [0, 0, 0, 0];
        if (c.padding === 'same') {
          const [ph, pw] = [k[0] - 1, k[1] - 1];
          pads = [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)];
        } else if (c.padding !== 'valid') unsupported(layer, `padding ${String(c.padding)}`);
        const up = folded.get(inputs[0]);
        const act = (c.activation as string | undefined) ?? 'linear';
        if (act !== 'linear' && act !== 'relu') unsupported(layer, `activation ${act}`);
        let weight = { data: kernel.data, shape: kernel.shape };
        let source = inputs[0];
        if (up) {
          const sub = subPixelKernel(kernel.data, kernel.shape, up.s);
          weight = sub;
          source = up.input;
          pads = [sub.pad, sub.pad, sub.pad, sub.pad];
        }
        const [h, w, i, o] = weight.shape;
        inits.push(floatTensor(`${out}/W`, [o, i, h, w], hwioToOihw(weight.data, weight.shape)));
        const convInputs = [source, `${out}/W`];
        if (bias) {
          // One copy of the bias per sub-pixel phase when folded.
          const b = up ? Float32Array.from({ length: o }, (_, n) => bias.data[n % bias.data.length]) : bias.data;
          inits.push(floatTensor(`${out}/B`, [o], b));
          convInputs.push(`${out}/B`);
        }
        let last = up ? `${out}/lr` : act === 'relu' ? `${out}/pre` : out;
        nodes.push(onnx.NodeProto.create({
          opType: 'Conv', input: convInputs, output: [last], name: out,
          attribute: [attrInts('kernel_shape', [h, w]), attrInts('pads', pads), attrInts('strides', [1, 1]), attrInts('dilations', [1, 1])],
        }));
        if (up) {
          const shuffled = act === 'relu' ? `${out}/pre` : out;
          nodes.push(onnx.NodeProto.create({ opType: 'DepthToSpace', input: [last], output: [shuffled], name: `${out}/shuffle`, attribute: [attrInt('blocksize', up.s), attrStr('mode', 'DCR')] }));
          last = shuffled;
        }
        if (act === 'relu') nodes.push(onnx.NodeProto.create({ opType: 'Relu', input: [last], output: [out], name: `${out}/relu` }));
        break;
      }
      case 'Activation':
        if (c.activation !== 'relu') unsupported(layer, `activation ${String(c.activation)}`);
        nodes.push(onnx.NodeProto.create({ opType: 'Relu', input: inputs, output: [out], name: out }));
        break;
      case 'Concatenate': {
        const axis = c.axis as number;
        if (axis !== 3 && axis !== -1) unsupported(layer, `concatenation on axis ${axis}`);
        nodes.push(onnx.NodeProto.create({ opType: 'Concat', input: inputs, output: [out], name: out, attribute: [attrInt('axis', 1)] }));
        break;
      }
      case 'Add':
        nodes.push(onnx.NodeProto.create({ opType: inputs.length === 2 ? 'Add' : 'Sum', input: inputs, output: [out], name: out }));
        break;
      case 'UpSampling2D': {
        const size = c.size as number[];
        if ((c.interpolation ?? 'nearest') !== 'nearest') unsupported(layer, `interpolation ${String(c.interpolation)}`);
        if (size[0] !== size[1]) unsupported(layer, 'non-square upsampling');
        scale *= size[0];
        if (folded.has(layer.name)) break;
        // Keras' nearest upsampling repeats each pixel; ONNX Resize does exactly that with
        // asymmetric coordinates and floor rounding.
        nodes.push(onnx.NodeProto.create({
          opType: 'Resize', input: [inputs[0], '', constant(`${out}/scales`, [1, 1, size[0], size[1]])], output: [out], name: out,
          attribute: [attrStr('mode', 'nearest'), attrStr('coordinate_transformation_mode', 'asymmetric'), attrStr('nearest_mode', 'floor')],
        }));
        break;
      }
      case 'MultiplyBeta':
        // The package's custom layer multiplies by the constant BETA = 0.2 (esrgan.js).
        nodes.push(onnx.NodeProto.create({ opType: 'Mul', input: [inputs[0], constant(`${out}/beta`, [0.2], [])], output: [out], name: out }));
        break;
      default: {
        const m = /^PixelShuffle(\d+)x$/.exec(layer.class_name);
        if (!m) unsupported(layer, 'layer type not supported');
        const s = Number((c.scale as number | undefined) ?? m[1]);
        // tf.depthToSpace (NHWC) takes channel (i·s + j)·C + c to offset (i, j): ONNX's DCR order.
        nodes.push(onnx.NodeProto.create({ opType: 'DepthToSpace', input: inputs, output: [out], name: out, attribute: [attrInt('blocksize', s), attrStr('mode', 'DCR')] }));
        scale *= s;
      }
    }
  }
  if (!inputName) throw new MediaflowError('MODEL_MISSING', 'model has no input layer');
  const outputs = cfg.config.output_layers;
  if (outputs.length !== 1) throw new MediaflowError('MODEL_MISSING', 'model must have exactly one output');
  let last = outputs[0][0];
  if (opts.range === 1) {
    nodes.push(onnx.NodeProto.create({ opType: 'Mul', input: [last, constant('k255', [255], [])], output: ['sr_255'], name: 'from_unit' }));
    last = 'sr_255';
  }
  nodes.push(onnx.NodeProto.create({ opType: 'Clip', input: [last, constant('lo', [0], []), constant('hi', [255], [])], output: ['sr_clipped'], name: 'clip' }));
  nodes.push(onnx.NodeProto.create({ opType: 'Transpose', input: ['sr_clipped'], output: ['upscaled'], name: 'to_nhwc', attribute: [attrInts('perm', [0, 2, 3, 1])] }));

  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'mediaflow',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'esrgan',
      node: nodes,
      initializer: inits,
      input: [valueInfo('image', [1, 'height', 'width', 3])],
      output: [valueInfo('upscaled', [1, 'out_height', 'out_width', 3])],
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), scale };
}
