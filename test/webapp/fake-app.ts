/**
 * A fake Dify chat app for the page's tests: events shaped like the reference fixtures
 * (../shared/reference/dify-service-api.md F1, F1-reasoning, F2), scripted by the question asked.
 */
import { randomUUID } from 'node:crypto';
import type { AppHandle, AppInfo, AppParameters, AppRunRequest } from '../../src/backend/types.js';
import { DifyError } from '../../src/backend/types.js';
import type { DifyEvent } from '../../src/dify/events.js';
import { workflowStream } from '../fakes/dify-apps.js';

export const RICH_ANSWER = [
  'Here is a **quick summary** with a table and some code.\n\n',
  '| Plan | Price | Seats |\n|---|---|---|\n| Starter | $0 | 1 |\n| Team | $12 | 10 |\n\n',
  '```python\ndef greet(name: str) -> str:\n    return f"Hello, {name}!"\n```\n\n',
  'Ask me anything else.',
];

export const XSS_ANSWER =
  'Careful: <img src=x onerror="window.__pwned = \'img\'"> and <script>window.__pwned = \'script\'</script> ' +
  '[click](javascript:window.__pwned=\'link\') <a href="#" onclick="window.__pwned=\'click\'">x</a> ' +
  '<svg onload="window.__pwned=\'svg\'"></svg><iframe src="javascript:parent.__pwned=\'iframe\'"></iframe> done.';

export interface Gate {
  open(): void;
  wait: Promise<void>;
}

function gate(): Gate {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}

export class FakeChatApp implements AppHandle {
  readonly fileTransfer: AppHandle['fileTransfer'];
  uploads: Array<{ id: string; filename: string; mimeType: string; bytes: Buffer; user: string }> = [];
  runs: AppRunRequest[] = [];
  /** Conversation ids this fake handed out, in order. */
  conversationIds: string[] = [];
  aborted: AppRunRequest[] = [];
  /** Opened by a test to let a "slow" answer finish. */
  slowGate: Gate = gate();
  private conversations = new Map<string, string>();

  constructor(
    readonly id = 'app-1',
    readonly name = 'Aurora Assistant',
    private readonly params: Partial<AppParameters> = {},
    options: { fileTransfer?: AppHandle['fileTransfer']; mode?: AppInfo['mode'] } = {},
  ) {
    this.fileTransfer = options.fileTransfer ?? 'none';
    this.mode = options.mode ?? 'chat';
  }

  readonly mode: AppInfo['mode'];

  async uploadFile(file: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<{ id: string }> {
    const id = randomUUID();
    this.uploads.push({ id, filename: file.filename, mimeType: file.mimeType, bytes: Buffer.from(file.data), user });
    return { id };
  }

  async info(): Promise<AppInfo> {
    return { id: this.id, name: this.name, mode: this.mode };
  }

  async parameters(): Promise<AppParameters> {
    return {
      openingStatement: 'Hi! I can help with plans, pricing and code.',
      suggestedQuestions: ['What plans do you offer?', 'Show me a Python example', 'How do I reset my password?'],
      inputs: [],
      ...this.params,
    };
  }

  resetGate(): void {
    this.slowGate = gate();
  }

  async *run(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent> {
    this.runs.push(request);
    if (this.mode === 'workflow') {
      // A workflow (F5 fixture shape) that answers with what it was given.
      yield* workflowStream({ answer: `Planned: ${Object.entries(request.inputs).map(([k, v]) => `${k}=${String(v)}`).join(', ')}` }) as DifyEvent[];
      return;
    }
    const known = request.conversationId;
    if (known && this.conversations.get(known) !== request.user) {
      throw new DifyError('Conversation Not Exists.', 'not_found', 404);
    }
    const conversationId = known ?? randomUUID();
    if (!known) this.conversationIds.push(conversationId);
    this.conversations.set(conversationId, request.user);
    const messageId = randomUUID();
    const taskId = randomUUID();
    const head = { conversation_id: conversationId, message_id: messageId, created_at: 1776052800, task_id: taskId };
    const message = (answer: string): DifyEvent => ({ event: 'message', ...head, id: messageId, answer, from_variable_selector: null });
    const end = (retrieverResources: unknown[] = []): DifyEvent => ({
      event: 'message_end',
      ...head,
      id: messageId,
      metadata: { annotation_reply: null, retriever_resources: retrieverResources, usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } },
      files: null,
    });
    const q = request.query ?? '';
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    if (q.includes('forever')) {
      try {
        for (let i = 0; i < 10_000; i++) {
          if (signal.aborted) break;
          yield message(`tick ${i}. `);
          await pause(40);
        }
      } finally {
        if (signal.aborted) this.aborted.push(request);
      }
      return;
    }
    if (q.includes('slow')) {
      yield message('First part of the answer');
      await this.slowGate.wait;
      yield message(', and the rest of it.');
      yield end();
      return;
    }
    if (q.includes('cite')) {
      // A knowledge-base app with "Citations and attributions" on (citation_metadata fields).
      yield message('Employees get 25 days of paid leave.');
      const segment = (id: string, document: string, content: string) => ({ position: 1, dataset_id: 'ds-hr', dataset_name: 'HR handbook', document_id: id, document_name: document, data_source_type: 'upload_file', segment_id: randomUUID(), retriever_from: 'api', score: 0.82, hit_count: 3, word_count: 120, segment_position: 2, index_node_hash: 'h', content, page: null, doc_metadata: null, title: null, files: [] });
      yield end([
        segment('doc-leave', 'Leave policy.pdf', 'Full-time employees are entitled to 25 days of paid leave per calendar year.'),
        segment('doc-leave', 'Leave policy.pdf', 'Unused days can be carried over until March.'),
        segment('doc-faq', '<b>FAQ</b>.md', 'Ask HR for part-time rules.'),
      ]);
      return;
    }
    if (q.includes('xss')) {
      yield message(XSS_ANSWER);
      yield end();
      return;
    }
    if (q.includes('think')) {
      for (const part of ['<think>\nThe user asks what 17 × 23 is.', ' 17 × 20 = 340, 17 × 3 = 51,', ' so 391.', '\n</think>\n\n', '17 × 23 = ', '**391**.']) {
        yield message(part);
      }
      yield end();
      return;
    }
    if (q.includes('fail')) {
      yield message('Let me');
      yield { event: 'error', conversation_id: conversationId, message_id: messageId, created_at: 1776052800, code: 'completion_request_error', status: 400, message: 'The model provider is rate limited.' };
      return;
    }
    if (q.includes('draw')) {
      const thoughtId = randomUUID();
      const thought = (extra: Record<string, unknown>): DifyEvent => ({ event: 'agent_thought', ...head, id: thoughtId, position: 1, thought: '', observation: '', tool: '', tool_labels: {}, tool_input: '', message_files: [], ...extra });
      yield thought({});
      yield thought({ tool: 'dalle3', tool_input: '{"dalle3": {"prompt": "a cat"}}' });
      yield { event: 'message_file', ...head, id: randomUUID(), type: 'image', belongs_to: 'assistant', url: 'data:image/svg+xml;base64,' + Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="240" height="160"><rect width="240" height="160" fill="#f4b6c2"/><circle cx="120" cy="80" r="40" fill="#fff"/></svg>').toString('base64') };
      yield thought({ tool: 'dalle3', tool_input: '{"dalle3": {"prompt": "a cat"}}', observation: '{"dalle3": "image created"}' });
      yield { event: 'agent_message', ...head, id: messageId, answer: "I've drawn a cat for you" };
      yield { event: 'agent_message', ...head, id: messageId, answer: ' — check the image above.' };
      yield end();
      return;
    }
    for (const chunk of RICH_ANSWER) {
      for (const piece of chunk.match(/[\s\S]{1,12}/g) ?? []) {
        yield message(piece);
        await pause(2);
      }
    }
    yield end();
  }
}
