export { MODEL_CATALOG, type ModelEntry, type ModelId } from './models.catalog.js';
export { checkModel, resolveModel, type ResolvedModel } from './models.lookup.js';
