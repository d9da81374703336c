import { S3Client } from '@aws-sdk/client-s3';

/** The `s3` section of the configuration, as far as the adapter needs it. */
export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  prefix?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle?: boolean;
  presignDownloads?: boolean;
}

export function createS3Client(s: S3Settings): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: s.forcePathStyle ?? true,
    // Without explicit keys the SDK's own chain applies (AWS_* variables, profiles, instance roles).
    credentials: s.accessKeyId && s.secretAccessKey ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } : undefined,
    // Since 3.729 the SDK adds CRC32 checksums to every upload, sending streamed bodies as
    // `aws-chunked` with trailers: S3-compatible servers (Swift, older MinIO and Ceph) answer 501.
    // Checksums only where an operation requires one; the blob's sha256 is our integrity check.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // An unreachable endpoint fails fast (then retried by the SDK) instead of hanging on the
    // system's TCP timeout. No request timeout: a download may be paused by a slow reader.
    requestHandler: { connectionTimeout: 5000 },
  });
}
