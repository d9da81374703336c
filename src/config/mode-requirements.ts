import type { AppConfig } from './config.schema.js';

/**
 * What a mode needs that the schema cannot say on its own: in distributed mode, the three services
 * must be named. One problem per missing setting, with the environment name an operator would set.
 */
export function modeProblems(config: AppConfig): string[] {
  if (config.mode !== 'distributed') return [];
  const need: Array<[unknown, string, string]> = [
    [config.redis.url, 'redis.url', 'MEDIAFLOW_REDIS_URL'],
    [config.postgres.url, 'postgres.url', 'MEDIAFLOW_POSTGRES_URL'],
    [config.s3.endpoint, 's3.endpoint', 'MEDIAFLOW_S3_ENDPOINT'],
    [config.s3.bucket, 's3.bucket', 'MEDIAFLOW_S3_BUCKET'],
    [config.s3.accessKeyId, 's3.accessKeyId', 'MEDIAFLOW_S3_ACCESS_KEY_ID'],
    [config.s3.secretAccessKey, 's3.secretAccessKey', 'MEDIAFLOW_S3_SECRET_ACCESS_KEY'],
  ];
  const problems = need.filter(([v]) => v === undefined || v === '').map(([, key, env]) => `${key}: required in distributed mode (set ${env})`);
  for (const [url, key, schemes] of [[config.redis.url, 'redis.url', ['redis:', 'rediss:']], [config.postgres.url, 'postgres.url', ['postgres:', 'postgresql:']], [config.s3.endpoint, 's3.endpoint', ['http:', 'https:']]] as const) {
    if (!url) continue;
    let protocol = '';
    try { protocol = new URL(url).protocol; } catch { /* reported below */ }
    if (!(schemes as readonly string[]).includes(protocol)) problems.push(`${key}: ${JSON.stringify(url)} is not a ${schemes.join(' or ')} URL`);
  }
  return problems;
}
