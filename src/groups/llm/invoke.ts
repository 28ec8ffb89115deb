/**
 * Runs one model invocation and delivers its answer events, holding the HTTP commitment back until
 * the model has produced something (or a short bound passed), so failures before the first chunk
 * become real HTTP errors rather than a broken 200 stream.
 */
import type { LlmInvokeRequest, LlmResultChunk, ModelsClient } from '../../backend/types.js';
import { AnswerAssembler, type AnswerEvent, type AnswerSummary } from './answer.js';
import { modelRuntimeError } from './errors.js';

/** How long a stream waits for the model's first chunk before committing the 200 anyway. */
export const FIRST_CHUNK_WAIT_MS = 3_000;

export interface AnswerSink {
  /** Called once before the first event (or when the wait bound passes): commit the response. */
  start(): void;
  event(event: AnswerEvent): void;
}

/**
 * Streams the answer into `sink`. Throws OpenAIError if the invocation fails before `sink.start`
 * ran; a failure after that is returned as `{ error }` for the caller to report in-band.
 */
export async function runAnswer(
  models: ModelsClient,
  request: LlmInvokeRequest,
  signal: AbortSignal,
  sink: AnswerSink,
  structured: boolean,
): Promise<{ summary: AnswerSummary } | { error: ReturnType<typeof modelRuntimeError> }> {
  const assembler = new AnswerAssembler(structured);
  const iterator = models.invokeLlm(request, signal)[Symbol.asyncIterator]();
  let started = false;
  const start = () => {
    if (!started) {
      started = true;
      sink.start();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    // First chunk: race it against the commit bound.
    const first = iterator.next();
    timer = setTimeout(start, FIRST_CHUNK_WAIT_MS);
    let result: IteratorResult<LlmResultChunk> = await first;
    clearTimeout(timer);
    while (!result.done) {
      const events = assembler.push(result.value);
      if (events.length > 0) start();
      for (const event of events) sink.event(event);
      if (signal.aborted) break;
      result = await iterator.next();
    }
  } catch (err) {
    clearTimeout(timer);
    const mapped = modelRuntimeError(err);
    if (!started) throw mapped;
    return { error: mapped };
  }
  if (signal.aborted) {
    await iterator.return?.().catch(() => undefined);
  }
  const { events, summary } = assembler.finish();
  start();
  for (const event of events) sink.event(event);
  return { summary };
}
