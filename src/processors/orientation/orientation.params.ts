import { Type, type Static } from 'typebox';
import { segmentationParamProperties } from '../segment/segment.params.js';

export const OrientationParamsSchema = Type.Object({
  ...segmentationParamProperties,
  object: Type.Optional(Type.Integer({ minimum: 0, description: 'Measure the object with this `mask_id` (as `segment` numbers them with the same params) instead of the largest.' })),
  class: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Models: measure the largest object of this class (name or numeric id).' })),
  min_elongation: Type.Number({ default: 1.2, minimum: 1, description: 'Below this ratio of principal variances the object counts as round: its angle is reported but flagged as not meaningful.' }),
  overlay: Type.Boolean({ default: false, description: 'Also write `overlay.png` with the measured object and its principal axis.' }),
}, { additionalProperties: false });

export type OrientationParams = Static<typeof OrientationParamsSchema>;
