/**
 * Errors the server answers with: a status, a message, optional headers. Every error leaves the
 * server as the KServe v2 error body `{"error": "<message>"}`.
 */
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

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

const MALFORMED_JSON = 'malformed JSON body: ';

/** 400 for a body that is not JSON; `detail` may carry the prefix already (said once either way). */
export function malformedJson(detail: string): HttpError {
  const d = detail.startsWith(MALFORMED_JSON) ? detail.slice(MALFORMED_JSON.length) : detail;
  return new HttpError(400, `${MALFORMED_JSON}${d || 'parse error'}`);
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
      return malformedJson(message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'\s*/, ''));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'empty JSON body: expected an inference request object');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, `${message}; send the request as application/json`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError(400, 'the Content-Length header does not match the body sent');
    case 'FST_ERR_BAD_URL':
      return new HttpError(400, `malformed URL: ${message}`);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HttpError(414, `URL too long: ${message}`);
  }
  if (e instanceof SyntaxError && status === 400) return malformedJson(message);
  return new HttpError(status, status === 500 ? `internal error: ${message}` : message);
}

/** What Node's HTTP parser refuses before a route sees the request, as a status and a message. */
export function clientErrorResponse(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request was not received in time (see --request-timeout / --headers-timeout)' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request line and headers are larger than the server accepts (16 KiB)' };
    case 'HPE_URI_TOO_LONG':
      return { status: 414, message: 'URL too long' };
    default:
      return { status: 400, message: `malformed HTTP request${code ? ` (${code})` : ''}` };
  }
}

/**
 * The server's `clientError` handler: answer what the HTTP parser refused with the protocol's error
 * body (`{"error": …}`, as every other error) and close the connection.
 */
export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message } = clientErrorResponse(err.code);
  // an answer already under way on this connection must not get a second status line inside it
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !answering) {
    const body = JSON.stringify({ error: message } satisfies ErrorBody);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
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
