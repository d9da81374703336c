/**
 * The result view of each processor, loaded only when a job of that processor is opened. A view
 * module exports `render(job, ctx) → { el, update?(job), destroy?() }`, and `live = true` when it
 * should show a running job's outputs as they appear.
 */
const VIEWS = {
  ocr: () => import('./ocr.view.js'),
  separate: () => import('./stems.view.js'),
  upscale: () => import('./compare.view.js'),
  segment: () => import('./masks.view.js'),
  orientation: () => import('./masks.view.js'),
  download: () => import('./media.view.js'),
  'download-video': () => import('./media.view.js'),
  'record-stream': () => import('./media.view.js'),
};

export function loadView(processor) {
  return (VIEWS[processor] ?? (() => import('./generic.view.js')))();
}
