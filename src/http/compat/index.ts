import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { seed000Routes } from './seed000-vocals.js';
import { seed001Routes } from './seed001-upscale.js';
import { seed002Routes } from './seed002-ocr.js';
import { seed003Routes } from './seed003-segment.js';
import { seed004Routes } from './seed004-download.js';
import { tasksRoutes } from './tasks.js';

/**
 * The five seed systems' routes, each in its own file, all on the one server (COMPAT.md).
 * Shared routes (`GET /`, `GET /tasks/:id`) have one implementation each.
 */
export async function registerCompatRoutes(app: FastifyInstance, rt: Runtime) {
  await tasksRoutes(app, rt.jobs);
  await seed000Routes(app, rt.jobs, rt.blobs);
  await seed001Routes(app, rt.jobs, rt.blobs);
  await seed002Routes(app, rt.jobs);
  await seed003Routes(app, rt.jobs);
  await seed004Routes(app, rt.jobs);
}
