/**
 * SSRF-safe fetching for URL inputs: every URL is checked (scheme, resolved addresses) on every hop,
 * and connections go to the checked address only. See url-guard.ts for the policy, download-to-file.ts
 * for streaming a URL to disk, guard-proxy.ts for applying the same policy to external programs
 * (yt-dlp, ffmpeg) that fetch on their own.
 */
export { addressPolicyFor, forbiddenRange, type AddressPolicy } from './address-policy.js';
export { assertUrlAllowed, parseHttpUrl, pinnedLookup, resolveAllowed, type CheckedTarget, type HostResolver, type UrlGuardOptions } from './url-guard.js';
export { openUrl, USER_AGENT, type OpenOptions, type OpenedResponse } from './http-client.js';
export { downloadToFile, type DownloadToFileOptions, type DownloadedFile } from './download-to-file.js';
export { downloadFileName } from './content-name.js';
export { startGuardProxy, type GuardProxy, type GuardProxyOptions } from './guard-proxy.js';
export { fetchText, type FetchedText } from './fetch-text.js';
