import { Type, type Static } from 'typebox';

/**
 * Parameters shared by `segment` and `orientation` (which segments first). Kept in one place so that
 * both processors, the compat routes and the docs describe the same knobs.
 */
export const segmentationParamProperties = {
  engine: Type.String({
    default: 'builtin',
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
    description: '`builtin` (no weights: objects on a contrasting, fairly plain background), the name of a model configured in `segment.models`, or the id of a catalogue model fetched into the model cache (`mediaflow models list`).',
  }),
  score_threshold: Type.Optional(Type.Number({
    minimum: 0, maximum: 1,
    description: 'Keep objects scoring at least this. Default: 0.5 for models; 0 for the built-in engine, whose score is the mean contrast over twice the detection threshold (0.5 = just detectable, 1 = strong).',
  })),
  min_area: Type.Optional(Type.Integer({ minimum: 1, description: 'Drop objects smaller than this many pixels. Default: 0.01% of the image, at least 64 pixels (built-in engine); none (models).' })),
  // --- model engines ---
  mask_threshold: Type.Number({ default: 0.5, exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Models: mask probability above which a pixel belongs to the object.' }),
  iou_threshold: Type.Number({ default: 0.7, minimum: 0, maximum: 1, description: 'YOLO-seg: non-maximum suppression IoU (Ultralytics\' default 0.7).' }),
  classes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100, description: 'Models: keep only these classes, by name or numeric id.' })),
  // --- built-in engine ---
  threshold: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Built-in: contrast threshold as a fraction of the largest colour difference (black to white). Default: automatic (Otsu, bounded by the background noise).' })),
  split_touching: Type.Boolean({ default: true, description: 'Built-in: split touching objects along their narrowest neck (distance-transform watershed).' }),
  fill_holes: Type.Boolean({ default: true, description: 'Built-in: fill holes inside objects.' }),
};

export const SegmentParamsSchema = Type.Object({
  ...segmentationParamProperties,
  max_instances: Type.Integer({ default: 100, minimum: 1, maximum: 1000, description: 'Keep at most this many objects (best scores first for models, largest first for the built-in engine).' }),
  overlay: Type.Boolean({ default: false, description: 'Also write `overlay.png`: the image with each mask coloured, its id and its principal axis drawn.' }),
  crop: Type.Boolean({ default: false, description: 'Also write `crop.png`: the largest object\'s bounding box cut from the image (to chain into `upscale` or `ocr`).' }),
}, { additionalProperties: false });

export type SegmentParams = Static<typeof SegmentParamsSchema>;

/** Params as a caller may give them: every field with a default may be left out. */
export type SegmentParamsInput = Partial<SegmentParams>;
