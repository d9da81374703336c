import type { Rle } from '../coco-rle.js';

/** How a segmentation model's inputs and outputs are laid out (see config `segment.models`). */
export type ModelFormat = 'mask-rcnn' | 'mask-rcnn-zoo' | 'yolo-seg';

/** One object found by an engine, its mask at the size of the original image. */
export interface Detection {
  rle: Rle;
  score: number;
  classId: number | null;
  className: string | null;
  /** Area (set pixels), from the engine when it knows it already. */
  area?: number;
}

/** Thresholds shared by the model decoders. */
export interface DecodeOptions {
  /** Detections below this score are dropped before their masks are built. */
  scoreThreshold: number;
  /** Mask probability above which a pixel belongs to the object. */
  maskThreshold: number;
  /** Non-maximum suppression IoU (YOLO-seg). */
  iouThreshold: number;
  maxInstances: number;
  signal?: AbortSignal;
}
