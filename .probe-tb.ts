import { SegmentParamsSchema } from './src/processors/segment/segment.params.js';
import type { Static } from 'typebox';
type P = Static<typeof SegmentParamsSchema>;
const p: P = { engine: 'x', mask_threshold: 0.5, iou_threshold: 0.5, split_touching: true, fill_holes: true, max_instances: 3, overlay: false };
console.log(JSON.stringify(SegmentParamsSchema).slice(0, 300), p);
