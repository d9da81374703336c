import { MemoryLeaseRecords } from '../helpers/memory-lease-records.js';
import { bullmqQueueSuite } from '../helpers/bullmq-queue.suite.js';
import { redisReachable } from '../helpers/redis-server.js';

// The BullMQ queue against this machine's Redis; skipped only when no Redis answers.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = (await redisReachable(REDIS_URL)) ? false : `no Redis at ${REDIS_URL}`;

// Lease records held in memory: one process plays every node. Run the same suite with
// PostgreSQL's records by passing a factory that opens them.
bullmqQueueSuite('in memory', REDIS_URL, async () => {
  const records = new MemoryLeaseRecords();
  return {
    connect: () => records,
    create: async (spec) => records.create(spec),
    cancel: async (id) => records.cancel(id),
    get: async (id) => records.get(id),
    close: async () => {},
  };
}, { skip });
