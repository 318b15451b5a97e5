import { type OciErrorEntry, RegistryError, type SentAs } from '../errors.ts';
import type { HttpResponse } from './http.ts';

const MAX_ERROR_BODY = 64 * 1024;

/**
 * The one place a response becomes an error: anything but the expected status is read (bounded),
 * its OCI error body parsed, and thrown as a `RegistryError`. `scrub` takes the credentials the
 * request carried out of the body first: a registry may echo them.
 */
export async function checkResponse(
  res: HttpResponse,
  expected: readonly number[],
  scrub: (text: string) => string = (text) => text,
  sentAs?: SentAs,
): Promise<void> {
  if (expected.includes(res.status)) return;
  const text = scrub(await readBounded(res, MAX_ERROR_BODY));
  const errors = parseOciErrors(text);
  // A 401 whose challenge says insufficient_scope (Docker Hub, distribution) refuses the access asked,
  // not the credentials: said as the denial it is.
  if (res.status === 401 && /error="?insufficient_scope/.test(header(res, 'www-authenticate') ?? ''))
    errors.push({ code: 'DENIED', message: 'insufficient_scope' });
  const retryAfterMs = parseRetryAfter(header(res, 'retry-after'));
  const first = errors[0];
  const detail = first === undefined ? '' : `: ${first.code}${first.message ? ` (${first.message})` : ''}`;
  throw new RegistryError(`${res.method} ${res.target} returned ${res.status}${detail}`, {
    status: res.status,
    method: res.method,
    target: res.target,
    errors,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(sentAs !== undefined && (res.status === 401 || res.status === 403) && { sentAs }),
  });
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBounded(res: HttpResponse, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      if (size < limit) chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch {
    // A body cut short still leaves the status to report.
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function parseOciErrors(text: string): OciErrorEntry[] {
  try {
    const body = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(body.errors)) return [];
    return body.errors.flatMap((e: unknown) => {
      if (typeof e !== 'object' || e === null) return [];
      const { code, message } = e as { code?: unknown; message?: unknown };
      if (typeof code !== 'string') return [];
      return [{ code, ...(typeof message === 'string' && { message: message.slice(0, 300) }) }];
    });
  } catch {
    return [];
  }
}

/** `Retry-After` as delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
