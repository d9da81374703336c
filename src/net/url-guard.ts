import { promises as dns, type LookupAddress } from 'node:dns';
import net from 'node:net';
import type { AppConfig } from '../config/config.schema.js';
import { InputError, MediaflowError } from '../core/errors.js';
import { addressPolicyFor, type AddressPolicy } from './address-policy.js';

/** Resolves a host name to every address it has. */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

export interface UrlGuardOptions {
  /** Name resolution (default: the system resolver through `dns.lookup`, all addresses). A hook for tests and custom DNS. */
  resolve?: HostResolver;
  /** Which addresses may be contacted (default: from `config.network.allowPrivate`, see `addressPolicyFor`). */
  policy?: AddressPolicy;
}

/** A URL whose host was resolved and found allowed, with the addresses to connect to (and only those). */
export interface CheckedTarget {
  url: URL;
  addresses: LookupAddress[];
}

const MAX_URL_LENGTH = 8192;

const systemResolver: HostResolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** Parses `raw` as an absolute http(s) URL; anything else is URL_INVALID (file:, data:, ftp:, gopher: ...). */
export function parseHttpUrl(raw: string | URL): URL {
  if (typeof raw === 'string' && raw.length > MAX_URL_LENGTH) throw new InputError('URL_INVALID', `The URL is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new InputError('URL_INVALID', `Not a valid absolute URL: ${JSON.stringify(String(raw).slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError('URL_INVALID', `Only http and https URLs are accepted, not ${url.protocol.replace(/:$/, '')}:`);
  }
  if (!url.hostname) throw new InputError('URL_INVALID', 'The URL has no host');
  return url;
}

/** The host of a URL as a resolver or an IP parser wants it (IPv6 literals lose their brackets). */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Parses, resolves and checks a URL: its scheme must be http(s) and every address its host resolves
 * to must pass the policy. All addresses are checked, not just the first, so that a name with one
 * public and one private answer cannot be used to reach the private one. The caller connects to
 * `addresses` only (see `pinnedLookup`), which is what defeats DNS rebinding: the name is never
 * resolved a second time between the check and the connection.
 */
export async function resolveAllowed(raw: string | URL, config: AppConfig, opts: UrlGuardOptions = {}): Promise<CheckedTarget> {
  const url = parseHttpUrl(raw);
  const policy = opts.policy ?? addressPolicyFor(config);
  const host = bareHost(url);
  let addresses: LookupAddress[];
  const family = net.isIP(host);
  if (family) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = await (opts.resolve ?? systemResolver)(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A name that does not exist will not exist on retry either; a resolver hiccup might pass.
      const retryable = code === 'EAI_AGAIN' || code === 'ETIMEOUT' || code === 'ESERVFAIL';
      throw new MediaflowError('URL_UNREACHABLE', `Could not resolve the host ${host}${code ? ` (${code})` : ''}`, { cause: err, retryable, details: { host } });
    }
    if (addresses.length === 0) throw new MediaflowError('URL_UNREACHABLE', `The host ${host} has no address`, { retryable: false, details: { host } });
  }
  for (const a of addresses) {
    const reason = policy(a.address);
    if (reason) {
      throw new InputError('URL_FORBIDDEN', `The URL's host ${host} resolves to ${a.address} (${reason}), which is not allowed (set network.allowPrivate to allow it)`, {
        details: { host, address: a.address, range: reason },
      });
    }
  }
  return { url, addresses };
}

/**
 * Checks that a URL may be fetched: http(s) only, and its host resolves to allowed addresses only.
 * Throws URL_INVALID, URL_FORBIDDEN or URL_UNREACHABLE. Returns the parsed URL.
 *
 * A check on its own does not stop DNS rebinding; to fetch, use `downloadToFile` (or connect with
 * `pinnedLookup`), which checks every hop and connects to the checked address.
 */
export async function assertUrlAllowed(url: string, config: AppConfig, opts: UrlGuardOptions = {}): Promise<URL> {
  return (await resolveAllowed(url, config, opts)).url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:net/http/https that answers with already-checked addresses instead of asking
 * DNS again. Handles both call shapes Node uses (`all: true` with happy-eyeballs, single otherwise).
 */
export function pinnedLookup(addresses: readonly LookupAddress[]) {
  return (_hostname: string, options: unknown, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const o = (typeof options === 'object' && options !== null ? options : {}) as { family?: number | string; all?: boolean };
    const fam = o.family === 4 || o.family === 'IPv4' ? 4 : o.family === 6 || o.family === 'IPv6' ? 6 : 0;
    const list = fam ? addresses.filter((a) => a.family === fam) : [...addresses];
    if (list.length === 0) {
      const err = Object.assign(new Error(`no IPv${fam} address allowed for this host`), { code: 'ENOTFOUND' }) as NodeJS.ErrnoException;
      cb(err, []);
      return;
    }
    if (o.all) cb(null, list);
    else cb(null, list[0].address, list[0].family);
  };
}
