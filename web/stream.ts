/** Reads the server's SSE answer stream (POST, so not EventSource) and yields its events. */
import type { PageEvent } from './types.js';

export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function* readEvents(response: Response): AsyncGenerator<PageEvent> {
  if (!response.ok || !response.body) {
    let message = `HTTP ${response.status}`;
    try {
      const body = (await response.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // not JSON
    }
    throw new HttpError(message, response.status);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder(); // streaming decode: a character split across chunks stays whole
  let buffer = '';
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const frame = buffer.slice(0, at);
        buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, '');
        const data = frame
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (!data) continue;
        try {
          yield JSON.parse(data) as PageEvent;
        } catch {
          // ignore a malformed frame
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}
