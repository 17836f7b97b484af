// Error classes of msock. Every error thrown or rejected by the library is an
// MsockError with a stable `code` string, so callers can test `err.code`
// instead of parsing messages.

/** Base class of every msock error. */
export class MsockError extends Error {
  /**
   * @param {string} message human-readable description
   * @param {string} code stable code, e.g. "ECLOSED"
   */
  constructor(message, code) {
    super(message);
    this.name = new.target.name;
    /** @type {string} */
    this.code = code;
  }
}

/** The socket (or the request's socket) has been closed. code "ECLOSED". */
export class ClosedError extends MsockError {
  constructor(message = 'socket closed') { super(message, 'ECLOSED'); }
}

/** A receive, send, request or survey deadline passed. code "ETIMEDOUT". */
export class TimeoutError extends MsockError {
  constructor(message = 'timed out') { super(message, 'ETIMEDOUT'); }
}

/** A received message exceeded the `recvMaxSize` option. code "EMSGSIZE". */
export class TooLargeError extends MsockError {
  /** @param {number} size @param {number} limit */
  constructor(size, limit) {
    super(`received message of ${size} bytes exceeds recvMaxSize ${limit}`, 'EMSGSIZE');
    this.size = size;
    this.limit = limit;
  }
}

/** The operation does not fit the socket's state (e.g. REP reply with no request). code "ESTATE". */
export class StateError extends MsockError {
  constructor(message) { super(message, 'ESTATE'); }
}

/** The role cannot do this (e.g. send on SUB). code "ENOTSUP". */
export class NotSupportedError extends MsockError {
  constructor(message) { super(message, 'ENOTSUP'); }
}

/** The peer spoke something that is not SP (text frame, wrong subprotocol, bad header). code "EPROTO". */
export class ProtocolError extends MsockError {
  constructor(message) { super(message, 'EPROTO'); }
}

/** An operation was aborted through its AbortSignal. code "ECANCELED". */
export class AbortError extends MsockError {
  constructor(message = 'aborted') { super(message, 'ECANCELED'); }
}

/**
 * A group call failed (docs/group-protocol.md). `code` is the name of the libmsock error
 * the C client gives for the same failure: "ENOENT", "EEXIST", "EACCES", "ENOSPC", "EBUSY",
 * "EPERM", "ENOMASTER", "EINVAL", "EMSGSIZE", or "ECONNRESET" when the connection to the hub
 * dropped. `status` is the hub's status name (e.g. "DENIED") when the hub gave the reason.
 */
export class GroupError extends MsockError {
  /**
   * @param {string} code @param {string} message
   * @param {string} [status] the hub's status name, e.g. "NOT_FOUND"
   */
  constructor(code, message, status) {
    super(message, code);
    /** @type {string | undefined} */
    this.status = status;
  }
}
