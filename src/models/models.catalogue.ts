/**
 * Models Mediaflow knows where to get. None ships with the package: instance segmentation weights
 * are large and carry their own licences, so a user fetches one (`mediaflow models fetch <id>`) into
 * the model cache, where the `segment` and `orientation` processors find it by id
 * (`engine: "<id>"`). The SHA-256 and size are those of the files as published (their Git LFS
 * pointers in onnx/models); a download that differs is refused.
 */
export interface CatalogueModel {
  id: string;
  title: string;
  /** The layout the segmentation engines read (see config `segment.models`). */
  format: 'mask-rcnn' | 'mask-rcnn-zoo' | 'yolo-seg';
  url: string;
  sha256: string;
  /** Bytes. */
  size: number;
  /** File name in the model cache. */
  file: string;
  licence: string;
  source: string;
}

export const MODEL_CATALOGUE: readonly CatalogueModel[] = [
  {
    id: 'maskrcnn-r50-fpn',
    title: 'Mask R-CNN R-50-FPN, COCO (80 classes), ONNX model zoo, opset 12',
    format: 'mask-rcnn-zoo',
    url: 'https://github.com/onnx/models/raw/main/validated/vision/object_detection_segmentation/mask-rcnn/model/MaskRCNN-12.onnx',
    sha256: '5bf940c124d9117f6fae350c4e0d46df180cbb01981832b35fdbed148078b946',
    size: 177_970_010,
    file: 'MaskRCNN-12.onnx',
    licence: 'MIT',
    source: 'https://github.com/onnx/models/tree/main/validated/vision/object_detection_segmentation/mask-rcnn',
  },
  {
    id: 'maskrcnn-r50-fpn-int8',
    title: 'Mask R-CNN R-50-FPN, COCO (80 classes), ONNX model zoo, opset 12, int8-quantised (smaller, faster on CPU)',
    format: 'mask-rcnn-zoo',
    url: 'https://github.com/onnx/models/raw/main/validated/vision/object_detection_segmentation/mask-rcnn/model/MaskRCNN-12-int8.onnx',
    sha256: '4409935e855719fd6cd986f7ec2a3de840d0bd9c9cf7a0cba84ce95377f5b476',
    size: 45_769_352,
    file: 'MaskRCNN-12-int8.onnx',
    licence: 'MIT',
    source: 'https://github.com/onnx/models/tree/main/validated/vision/object_detection_segmentation/mask-rcnn',
  },
];

export function findCatalogueModel(id: string): CatalogueModel | undefined {
  return MODEL_CATALOGUE.find((m) => m.id === id);
}
