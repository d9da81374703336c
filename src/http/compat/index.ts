import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { seed002Routes } from './seed002-ocr.js';

/**
 * The five seed systems' routes, each in its own file, all on the one server (COMPAT.md).
 * Shared routes (`GET /`, `GET /tasks/:id`) have one implementation each.
 */
export async function registerCompatRoutes(app: FastifyInstance, rt: Runtime) {
  await seed002Routes(app, rt.jobs);
}
