export { findCatalogueModel, MODEL_CATALOGUE, segmentationModels, type CatalogueModel } from './models.catalogue.js';
export { catalogueModelPath, checkModel, modelCacheDir, resolveModel, type ResolvedModel } from './models.resolve.js';
export { fetchModel, type FetchedModel, type FetchModelOptions } from './models.fetch.js';
export { fetchModelByRef, listModels, type ConfiguredModel, type ListedModel } from './models.service.js';
