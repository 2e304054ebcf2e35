/**
 * One HTTP request with Node's own fetch: a deadline, a cancel signal, and an answer reduced
 * to what the sender needs. Never throws: a network error is a result like a status code.
 */
import type { HttpRequest } from '../../core/notify/requests.js';
import { parseRetryAfter } from '../../core/notify/outbox.js';

export interface HttpAnswer {
  status?: number;
  body?: string;
  retryAfterMs?: number;
  errorCode?: string;
  timedOut?: boolean;
  /** Cancelled by the caller (the walk is ending): neither a success nor a failure of the sink. */
  cancelled?: boolean;
}

/** A redirect is answered as its 3xx status, never followed: the body and token would go to another address. */
export async function sendHttp(request: HttpRequest, timeoutMs: number, cancel: AbortSignal): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.any([deadline, cancel]),
      redirect: 'manual',
    });
    const body = await response.text();
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    return { status: response.status, body, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  } catch (error) {
    if (cancel.aborted) return { cancelled: true };
    if (deadline.aborted) return { timedOut: true };
    return { errorCode: errorCode(error) };
  }
}

/** `ECONNREFUSED`, `ENOTFOUND`…: the cause fetch wraps in "fetch failed". Never the URL, which may be the secret. */
function errorCode(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_0-9]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  if (error instanceof TypeError && /Invalid URL|Failed to parse URL/i.test(String((error as { cause?: unknown }).cause ?? error.message)))
    return 'invalid URL';
  return 'network error';
}
