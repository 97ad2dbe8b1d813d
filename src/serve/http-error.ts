/**
 * Errors the server answers with: a status, a message, optional headers. Every error leaves the
 * server as the KServe v2 error body `{"error": "<message>"}`.
 */
import type { FastifyReply } from 'fastify';

export class HttpError extends Error {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const notFound = (message: string) => new HttpError(404, message);

/** The queue is full or admitting the request would break the SLO: 503 with Retry-After (seconds). */
export class OverloadedError extends HttpError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number) {
    const s = Math.max(1, Math.ceil(retryAfterS));
    super(503, message, { 'retry-after': String(s) });
    this.name = 'OverloadedError';
    this.retryAfterS = s;
  }
}

/** The KServe v2 / Open Inference Protocol error body. */
export interface ErrorBody {
  readonly error: string;
}

/** Status + message for anything thrown inside a route (fastify's own errors included). */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  const err = e as { statusCode?: unknown; code?: unknown; message?: unknown };
  const status = typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  const message = typeof err?.message === 'string' && err.message.length > 0 ? err.message : String(e);
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'request body is larger than the server accepts (see --body-limit)');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError(
        400,
        `malformed JSON body: ${message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'\s*/, '') || 'parse error'}`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'empty JSON body: expected an inference request object');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, `${message}; send the request as application/json`);
  }
  if (e instanceof SyntaxError && status === 400) return new HttpError(400, `malformed JSON body: ${message}`);
  return new HttpError(status, status === 500 ? `internal error: ${message}` : message);
}

/** Answer `e` as an error handler: its status and headers, the body `{"error": "<message>"}`. Returns what was sent. */
export function sendHttpError(reply: FastifyReply, e: unknown): HttpError {
  const h = toHttpError(e);
  void reply
    .code(h.statusCode)
    .headers(h.headers)
    .send({ error: h.message } satisfies ErrorBody);
  return h;
}
