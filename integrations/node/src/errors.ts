/**
 * The errors of a uss call. Each is a `UssError`; its class says what happened:
 *
 * - `UssNotFoundError`: uss answered 404 `not_found`. The only error that means "nothing
 *   stored".
 * - `UssUnavailableError`: uss could not be asked or could not answer: connection refused or
 *   broken, timeout, 5xx (its database is down) or 429, or an answer that is not uss's (a
 *   gateway's error page). Whether a write took effect is unknown when the connection broke,
 *   and no for a 503. Retrying later is reasonable; treating it as "not found" is not.
 * - `UssRequestError`: uss refused the request (400 or 413: malformed or too large; 401: the
 *   key is missing, unknown or revoked; 403, 405). It changed nothing, and the same request
 *   will be refused again. `code` says which.
 *
 * A call aborted through its `signal` rejects with the signal's reason instead (an
 * `AbortError` unless the caller gave another): uss did nothing wrong, and the caller knows
 * why it stopped.
 *
 * Messages leave out the query string, so user ids do not reach logs through them.
 */
export class UssError extends Error {
  /** The call, such as "get assignment". */
  readonly op: string;
  /** The HTTP status of the answer, 0 when none came. */
  readonly status: number;
  /** The error code of uss's JSON error body, "" when it sent none. */
  readonly code: string;
  /** The request id of uss's error body (it names the request in uss's log), "" when none. */
  readonly requestId: string;

  constructor(op: string, message: string, details: { status?: number; code?: string; requestId?: string; cause?: unknown } = {}) {
    super(`uss ${op}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.op = op;
    this.status = details.status ?? 0;
    this.code = details.code ?? "";
    this.requestId = details.requestId ?? "";
  }
}

/** uss answered that nothing is stored there (404 `not_found`). */
export class UssNotFoundError extends UssError {}

/** uss could not be asked, or could not answer (see `UssError`). */
export class UssUnavailableError extends UssError {}

/** uss refused the request as it was sent; it changed nothing (see `UssError`). */
export class UssRequestError extends UssError {}

/**
 * What an adapter reports to its error handler for a write it did not send: a read of the
 * same key failed within its failed-read memory, and the write could replace what could not
 * be read.
 */
export class UssWriteSkippedError extends UssError {
  constructor(op: string) {
    super(op, "write skipped: a read of this key failed recently, and the write could replace what could not be read");
  }
}

/** uss's JSON error body: `{"error": {"code", "message", "requestId"}}`. */
interface ErrorBody {
  error?: { code?: unknown; message?: unknown; requestId?: unknown };
}

/**
 * answerError reads a non-2xx answer into the error its status and body mean. One without
 * uss's JSON error body (a proxy's 404 or 502 page) is unavailable: it says nothing about
 * what uss stores.
 */
export function answerError(op: string, status: number, body: string): UssError {
  let code = "";
  let message = "";
  let requestId = "";
  try {
    const parsed = JSON.parse(body) as ErrorBody;
    if (parsed && typeof parsed.error === "object" && parsed.error !== null) {
      code = typeof parsed.error.code === "string" ? parsed.error.code : "";
      message = typeof parsed.error.message === "string" ? parsed.error.message : "";
      requestId = typeof parsed.error.requestId === "string" ? parsed.error.requestId : "";
    }
  } catch {
    // not uss's answer: code stays empty
  }
  const details = { status, code, requestId };
  if (code === "") {
    return new UssUnavailableError(op, `unexpected answer ${status}`, details);
  }
  const text = `${status} ${code}: ${message} (request ${requestId})`;
  if (status === 404 && code === "not_found") {
    return new UssNotFoundError(op, text, details);
  }
  if (status >= 500 || status === 429 || code === "unavailable") {
    return new UssUnavailableError(op, text, details);
  }
  return new UssRequestError(op, text, details);
}
