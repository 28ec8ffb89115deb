// Backwards (reverse) invocation over the session of the request being handled
// (plugin-protocol.md §4): `invoke` out, `backwards_response` (response* [error] end) back,
// correlated by backwards_request_id with any number of calls in flight.
import { randomUUID } from 'node:crypto';
import type { BackwardsResponseData } from './protocol.js';
import { DEFAULT_MAX_LINE_BYTES, oversizeBytes, sessionLine } from './protocol.js';

/** Default idle timeout of one call: the SDK's 250 s (MAX_REQUEST_TIMEOUT overrides, in seconds). */
export const DEFAULT_REVERSE_TIMEOUT_MS = 250_000;

export class ReverseInvocationError extends Error {
  override readonly name: string = 'ReverseInvocationError';
  constructor(
    message: string,
    readonly invokeType: string,
  ) {
    super(message);
  }
}

export class ReverseInvocationTimeoutError extends ReverseInvocationError {
  override readonly name = 'ReverseInvocationTimeoutError';
}

/**
 * The `invoke` line would exceed the daemon's stdout line limit (a longer line kills the plugin
 * process and every session with it), so it was not sent. Match it by `name`.
 */
export class ReverseInvocationTooLargeError extends ReverseInvocationError {
  override readonly name = 'ReverseInvocationTooLargeError';
  constructor(
    invokeType: string,
    /** bytes of the `invoke` line that was not sent */
    readonly size: number,
    /** the line limit in bytes */
    readonly limit: number,
  ) {
    super(`${invokeType} reverse invocation not sent: its message is ${size} bytes, over the ${limit}-byte line limit of the plugin daemon`, invokeType);
  }
}

/** The response of the session has finished: the daemon no longer serves its reverse invocations. */
export class SessionFinishedError extends ReverseInvocationError {
  override readonly name = 'SessionFinishedError';
}

export interface InvokeOptions {
  signal?: AbortSignal;
}

interface PendingCall {
  type: string;
  queue: unknown[];
  done: boolean;
  error: Error | null;
  wake: (() => void) | null;
  timer: NodeJS.Timeout | null;
}

export class ReverseChannel {
  private readonly calls = new Map<string, PendingCall>();
  private closedWith: Error | null = null;
  private refusedWith: Error | null = null;

  constructor(
    private readonly sessionId: string,
    private readonly writeLine: (line: string) => void,
    private readonly timeoutMs: number = DEFAULT_REVERSE_TIMEOUT_MS,
    private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
  ) {}

  get inFlight(): number {
    return this.calls.size;
  }

  /**
   * Sends the invocation now and returns its responses as they arrive. Ends on the daemon's `end`;
   * throws on its `error`, on the idle timeout, and when the signal aborts or the session closes.
   * A call whose `invoke` line would exceed the line limit is not sent and throws
   * ReverseInvocationTooLargeError.
   */
  invoke(type: string, request: Record<string, unknown>, options: InvokeOptions = {}): AsyncIterableIterator<unknown> {
    const { signal } = options;
    const id = randomUUID().replace(/-/g, '');
    const call: PendingCall = { type, queue: [], done: false, error: null, wake: null, timer: null };
    const fail = (error: Error): void => {
      if (call.done) return;
      call.error = error;
      this.settle(id, call);
    };
    if (this.closedWith ?? this.refusedWith) call.error = (this.closedWith ?? this.refusedWith)!;
    else if (signal?.aborted) call.error = abortError(signal);
    else {
      const line = sessionLine(this.sessionId, 'invoke', { type, backwards_request_id: id, request });
      const size = oversizeBytes(line, this.maxLineBytes);
      if (size > 0) call.error = new ReverseInvocationTooLargeError(type, size, this.maxLineBytes);
      else {
        this.calls.set(id, call);
        this.armTimer(call, fail);
        this.writeLine(line);
      }
    }
    const onAbort = (): void => {
      call.queue = [];
      fail(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort);
      if (call.timer) clearTimeout(call.timer);
      this.calls.delete(id);
    };

    const iterator: AsyncIterableIterator<unknown> = {
      next: async (): Promise<IteratorResult<unknown>> => {
        for (;;) {
          if (call.queue.length > 0) return { done: false, value: call.queue.shift() };
          if (call.error) {
            cleanup();
            throw call.error;
          }
          if (call.done) {
            cleanup();
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => {
            call.wake = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<unknown>> => {
        call.done = true;
        call.queue = [];
        cleanup();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** A `backwards_response` for this session. */
  deliver(data: BackwardsResponseData): void {
    const call = this.calls.get(data.backwards_request_id);
    if (!call || call.done) return;
    if (data.event === 'response') {
      // a response whose data is null marks the end, as in the SDK
      if (data.data === null || data.data === undefined) {
        call.done = true;
        this.settle(data.backwards_request_id, call);
        return;
      }
      call.queue.push(data.data);
      this.armTimer(call, (error) => {
        call.error = error;
        this.settle(data.backwards_request_id, call);
      });
      this.wake(call);
    } else if (data.event === 'error') {
      call.error = new ReverseInvocationError(data.message || `${call.type} invocation failed`, call.type);
      this.settle(data.backwards_request_id, call);
    } else {
      call.done = true;
      this.settle(data.backwards_request_id, call);
    }
  }

  /** New calls fail with `reason` (calls in flight go on until close). */
  refuseNew(reason: Error): void {
    this.refusedWith ??= reason;
  }

  /** The session is over: every call still waiting fails with `reason`. */
  close(reason: Error): void {
    this.closedWith = reason;
    for (const [id, call] of this.calls) {
      if (!call.done && !call.error) call.error = reason;
      this.settle(id, call);
    }
  }

  private armTimer(call: PendingCall, fail: (error: Error) => void): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = setTimeout(() => {
      fail(new ReverseInvocationTimeoutError(`${call.type} invocation timed out: no response for ${Math.round(this.timeoutMs / 1000)} s`, call.type));
    }, this.timeoutMs);
  }

  private settle(id: string, call: PendingCall): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    if (call.error) call.done = true;
    this.calls.delete(id);
    this.wake(call);
  }

  private wake(call: PendingCall): void {
    const wake = call.wake;
    call.wake = null;
    wake?.();
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === 'string' ? reason : 'The operation was aborted');
  error.name = 'AbortError';
  return error;
}
