/**
 * Tool calling for Dify apps that have no native tools: the OpenAI `tools` become instructions in
 * the query, and the answer text is parsed back into OpenAI tool calls.
 *
 * The format the model is asked for is the Hermes/Qwen one, one block per call:
 *
 *   <tool_call>
 *   {"name": "get_weather", "arguments": {"city": "Paris"}}
 *   </tool_call>
 *
 * Why this one: many open models (Qwen 2.5/3, Hermes, DeepSeek distills, GLM) were trained on it, so
 * they follow it reliably; the tags are unambiguous delimiters that ordinary answers never contain,
 * unlike fenced JSON, which answers use all the time; and a streaming parser can hold back
 * `<tool_call>` after a single `<` without delaying markdown.
 *
 * Models drift from any format, so the parser also accepts what they actually write (see
 * ToolCallParser). Pure module: no I/O, no express, no Dify wire.
 */

// ---------------------------------------------------------------------------------------------
// Minimal structural types of the OpenAI chat request (the zod-parsed request objects fit these).

export type JsonSchema = Record<string, unknown>;

export type OpenAITool = {
  type: 'function';
  function: { name: string; description?: string | null; parameters?: JsonSchema | null; strict?: boolean | null };
};

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type OpenAIContentPart = { type: string; text?: string; [key: string]: unknown };

export type OpenAIToolCall = {
  id: string;
  type?: 'function';
  function: { name: string; arguments: string };
};

export type OpenAIChatMessage = {
  role: string;
  content?: string | OpenAIContentPart[] | null;
  name?: string | null;
  tool_calls?: OpenAIToolCall[] | null;
  tool_call_id?: string | null;
};

export type ParsedPiece =
  | { type: 'content'; text: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string };

// ---------------------------------------------------------------------------------------------
// Prompt

/** Parameters schema without noise that costs tokens and tells the model nothing. */
function compactSchema(schema: JsonSchema | null | undefined): string {
  if (!schema || typeof schema !== 'object') return '{"type":"object","properties":{}}';
  const { $schema: _drop, ...rest } = schema;
  return JSON.stringify(rest);
}

function choiceName(choice: ToolChoice | undefined): string | undefined {
  return choice && typeof choice === 'object' ? choice.function?.name : undefined;
}

/**
 * Instructions for the query: the tools (name, description, JSON-schema parameters) and how to call
 * them. Returns '' when no tool is on offer (no tools, or tool_choice "none").
 */
export function buildToolPrompt(tools: OpenAITool[], toolChoice: ToolChoice | undefined): string {
  if (toolChoice === 'none' || !tools || tools.length === 0) return '';
  const forced = choiceName(toolChoice);
  const listed = forced ? tools.filter((t) => t.function?.name === forced) : tools;
  const offered = listed.length > 0 ? listed : tools;

  const lines: string[] = [];
  lines.push('# Tools', '');
  lines.push(
    offered.length === 1
      ? 'You can call the following tool. It is listed with its name, what it does and its parameters as JSON Schema.'
      : 'You can call the following tools. Each is listed with its name, what it does and its parameters as JSON Schema.',
  );
  for (const t of offered) {
    const fn = t.function;
    lines.push('', `## ${fn.name}`);
    const description = fn.description?.trim();
    if (description) lines.push(description);
    lines.push(`Parameters: ${compactSchema(fn.parameters)}`);
  }
  lines.push(
    '',
    '# How to call tools',
    '',
    'To call a tool, write a <tool_call> block holding one JSON object with the tool\'s "name" and its "arguments":',
    '<tool_call>',
    '{"name": "<tool name>", "arguments": {"<parameter>": <value>}}',
    '</tool_call>',
    '',
    'Rules:',
    '- "arguments" is a JSON object that matches the tool\'s parameters; use {} when there are none.',
    '- To call several tools, write several <tool_call> blocks one after another.',
    '- When you call tools, end your reply right after the last </tool_call>. The results will come back in the next message inside <tool_response> blocks; then continue.',
    '- Never invent tool results, never describe a call instead of making it, and do not put the blocks in code fences.',
  );
  if (forced) {
    lines.push(`- In this reply you must call the tool "${forced}": answer with a <tool_call> block for it.`);
  } else if (toolChoice === 'required') {
    lines.push('- In this reply you must call at least one tool: answer with <tool_call> blocks.');
  } else {
    lines.push('- If no tool is needed, answer normally, without any <tool_call> block.');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Rendering earlier tool turns

function contentText(content: OpenAIChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (p && typeof p === 'object' && typeof p.text === 'string' ? p.text : ''))
    .filter((s) => s !== '')
    .join('\n');
}

/** Arguments as compact JSON when they parse, else as given. */
function compactArguments(args: string | undefined): string {
  if (!args || !args.trim()) return '{}';
  try {
    return JSON.stringify(JSON.parse(args));
  } catch {
    return args;
  }
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * Renders assistant tool calls and their results (`tool` messages, legacy `function` messages) as
 * text for the next query, in the same format the model is asked to write, so it sees what it
 * called and what came back. Results are matched to calls by tool_call_id to name the tool.
 * Other roles (user, system, plain assistant turns without tool calls) are the caller's business;
 * a plain assistant message given here is rendered as its text.
 */
export function renderToolTurns(messages: OpenAIChatMessage[]): string {
  const names = new Map<string, string>();
  for (const m of messages) {
    for (const c of m.tool_calls ?? []) if (c?.id && c.function?.name) names.set(c.id, c.function.name);
  }
  const parts: string[] = [];
  let calls: string[] = [];
  let results: string[] = [];
  const flush = () => {
    if (calls.length > 0) parts.push(`You called:\n${calls.join('\n')}`);
    if (results.length > 0) parts.push(`Tool results:\n${results.join('\n')}`);
    calls = [];
    results = [];
  };
  for (const m of messages) {
    if (m.role === 'assistant') {
      if (results.length > 0) flush();
      const text = contentText(m.content).trim();
      if (text) {
        flush();
        parts.push(text);
      }
      for (const c of m.tool_calls ?? []) {
        if (!c?.function?.name) continue;
        calls.push(
          `<tool_call>\n{"name":${JSON.stringify(c.function.name)},"arguments":${compactArguments(c.function.arguments)}}\n</tool_call>`,
        );
      }
    } else if (m.role === 'tool' || m.role === 'function') {
      const id = m.tool_call_id ?? undefined;
      const name = (id && names.get(id)) || m.name || undefined;
      const attrs = [name ? ` name="${escapeAttr(name)}"` : '', id ? ` id="${escapeAttr(id)}"` : ''].join('');
      results.push(`<tool_response${attrs}>\n${contentText(m.content)}\n</tool_response>`);
    }
  }
  flush();
  return parts.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Parsing calls out of the answer

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `call_` + 24 random alphanumerics. */
export function newCallId(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  let id = 'call_';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

type Call = { name: string; arguments: string };

/** JSON.parse, then once more with trailing commas removed (a common model slip); undefined if neither. */
function parseJsonLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // fall through
  }
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\' && i + 1 < text.length) out += text[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === '}' || text[j] === ']') continue;
    }
    out += c;
  }
  try {
    return JSON.parse(out);
  } catch {
    return undefined;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compact JSON text of an arguments value (object, or a string holding one); undefined if invalid. */
function normalizeArguments(v: unknown): string | undefined {
  if (v === undefined || v === null) return '{}';
  if (typeof v === 'string') {
    if (!v.trim()) return '{}';
    const parsed = parseJsonLoose(v);
    return isPlainObject(parsed) ? JSON.stringify(parsed) : undefined;
  }
  return isPlainObject(v) ? JSON.stringify(v) : undefined;
}

const CALL_KEYS = new Set(['id', 'index', 'type', 'name', 'arguments', 'parameters', 'args', 'input', 'params', 'tool', 'tool_name', 'function']);
const ARG_KEYS = ['arguments', 'parameters', 'args', 'input', 'params'] as const;

function oneCall(v: Record<string, unknown>, names: Set<string> | undefined, strict: boolean): Call[] | undefined {
  for (const k of Object.keys(v)) if (!CALL_KEYS.has(k)) return undefined;
  let name: unknown;
  let args: unknown;
  let hasArgs = false;
  const fn = v.function;
  if (isPlainObject(fn)) {
    name = fn.name;
    for (const k of ARG_KEYS) if (k in fn) { args = fn[k]; hasArgs = true; break; }
  } else {
    name = v.name ?? v.tool ?? v.tool_name ?? (typeof fn === 'string' ? fn : undefined);
  }
  if (!hasArgs) for (const k of ARG_KEYS) if (k in v) { args = v[k]; hasArgs = true; break; }
  if (typeof name !== 'string' || !name.trim()) return undefined;
  name = name.trim();
  if (names && !names.has(name as string)) return undefined;
  // Without a tool list, bare JSON must look unmistakably like a call.
  if (strict && !names && !hasArgs && !isPlainObject(fn)) return undefined;
  const normalized = normalizeArguments(args);
  if (normalized === undefined) return undefined;
  return [{ name: name as string, arguments: normalized }];
}

/**
 * Tool calls in a parsed JSON value: a call object ({name, arguments|parameters}, OpenAI's
 * {type, function:{name, arguments}}, {tool_calls:[…]}, {function_call:{…}}) or an array of them.
 * All or nothing: undefined when any part is not a valid call.
 */
function callsFromValue(v: unknown, names: Set<string> | undefined, strict: boolean): Call[] | undefined {
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    const all: Call[] = [];
    for (const item of v) {
      const c = callsFromValue(item, names, strict);
      if (!c) return undefined;
      all.push(...c);
    }
    return all;
  }
  if (!isPlainObject(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length === 1 && Array.isArray(v.tool_calls)) return callsFromValue(v.tool_calls, names, strict);
  if (keys.length === 1 && isPlainObject(v.function_call)) return callsFromValue(v.function_call, names, strict);
  return oneCall(v, names, strict);
}

/** `<parameter=key>value</parameter>` pairs (Qwen3-Coder style); undefined if there is other text. */
function parameterPairs(body: string, open: string, close: string): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  let p = 0;
  for (;;) {
    const start = body.indexOf(open, p);
    if (start < 0) break;
    if (body.slice(p, start).trim()) return undefined;
    const keyEnd = body.indexOf('>', start + open.length);
    if (keyEnd < 0) return undefined;
    const key = body.slice(start + open.length, keyEnd).trim().replace(/^"(.*)"$/, '$1');
    const end = body.indexOf(close, keyEnd + 1);
    if (end < 0 || !key) return undefined;
    const raw = body.slice(keyEnd + 1, end).replace(/^\r?\n/, '').replace(/\r?\n$/, '');
    args[key] = paramValue(raw);
    p = end + close.length;
  }
  if (body.slice(p).trim()) return undefined;
  return args;
}

function paramValue(raw: string): unknown {
  const t = raw.trim();
  if (t === 'true' || t === 'false' || t === 'null' || /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) || /^[[{]/.test(t)) {
    const v = parseJsonLoose(t);
    if (v !== undefined) return v;
  }
  return raw;
}

/** `<invoke name="x"><parameter name="k">v</parameter></invoke>…` (Anthropic-style function_calls). */
function invokeCalls(body: string, names: Set<string> | undefined): Call[] | undefined {
  const calls: Call[] = [];
  let p = 0;
  for (;;) {
    const start = body.indexOf('<invoke', p);
    if (start < 0) break;
    if (body.slice(p, start).trim()) return undefined;
    const tagEnd = body.indexOf('>', start);
    if (tagEnd < 0) return undefined;
    const nameMatch = /name\s*=\s*"([^"]*)"/.exec(body.slice(start, tagEnd));
    const end = body.indexOf('</invoke>', tagEnd);
    if (!nameMatch || end < 0) return undefined;
    const name = nameMatch[1]!.trim();
    if (!name || (names && !names.has(name))) return undefined;
    const inner = body.slice(tagEnd + 1, end);
    const args = parameterPairsNamed(inner);
    if (!args) return undefined;
    calls.push({ name, arguments: JSON.stringify(args) });
    p = end + '</invoke>'.length;
  }
  if (body.slice(p).trim() || calls.length === 0) return undefined;
  return calls;
}

function parameterPairsNamed(body: string): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  let p = 0;
  for (;;) {
    const start = body.indexOf('<parameter', p);
    if (start < 0) break;
    if (body.slice(p, start).trim()) return undefined;
    const tagEnd = body.indexOf('>', start);
    if (tagEnd < 0) return undefined;
    const nameMatch = /name\s*=\s*"([^"]*)"/.exec(body.slice(start, tagEnd));
    const end = body.indexOf('</parameter>', tagEnd);
    if (!nameMatch || end < 0) return undefined;
    args[nameMatch[1]!] = paramValue(body.slice(tagEnd + 1, end));
    p = end + '</parameter>'.length;
  }
  if (body.slice(p).trim()) return undefined;
  return args;
}

// --- streaming parser --------------------------------------------------------------------------

const LT = 0x3c;
const NL = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const TICK = 0x60;
const TILDE = 0x7e;
const LBRACE = 0x7b;
const LBRACKET = 0x5b;
const QUOTE = 0x22;

const NONE = -1;
const PARTIAL = -2;

const MAX_INFO = 40;
/** Mistral's marker before a JSON array of calls. */
const MISTRAL_PREFIX = '[TOOL_CALLS]';
const MAX_NAME = 80;
const MAX_PROBE = 80;

function isWs(c: number): boolean {
  return c === SPACE || c === NL || c === CR || c === TAB;
}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x3a
  );
}

/** `name` then `{arguments}`, `<arg_key>k</arg_key><arg_value>v</arg_value>` pairs, or nothing (GLM style). */
function nameAndArguments(body: string, names: Set<string> | undefined): Call[] | undefined {
  const t = body.trim();
  let i = 0;
  while (i < t.length && isNameChar(t.charCodeAt(i))) i++;
  const name = t.slice(0, i);
  if (!name || (names && !names.has(name))) return undefined;
  const rest = t.slice(i).trim();
  let args: Record<string, unknown> | undefined;
  if (!rest) args = {};
  else if (rest.startsWith('{')) {
    const v = parseJsonLoose(rest);
    args = isPlainObject(v) ? v : undefined;
  } else args = argKeyValuePairs(rest);
  return args ? [{ name, arguments: JSON.stringify(args) }] : undefined;
}

function argKeyValuePairs(body: string): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  let p = 0;
  for (;;) {
    const k = body.indexOf('<arg_key>', p);
    if (k < 0) break;
    if (body.slice(p, k).trim()) return undefined;
    const kEnd = body.indexOf('</arg_key>', k);
    if (kEnd < 0) return undefined;
    const v = body.indexOf('<arg_value>', kEnd);
    if (v < 0 || body.slice(kEnd + '</arg_key>'.length, v).trim()) return undefined;
    const vEnd = body.indexOf('</arg_value>', v);
    if (vEnd < 0) return undefined;
    args[body.slice(k + '<arg_key>'.length, kEnd).trim()] = paramValue(body.slice(v + '<arg_value>'.length, vEnd));
    p = vEnd + '</arg_value>'.length;
  }
  if (body.slice(p).trim() || Object.keys(args).length === 0) return undefined;
  return args;
}

type BlockKind = 'tag' | 'fence' | 'bare';
type Phase = 'open' | 'lead' | 'json' | 'after' | 'raw' | 'peek' | 'collect' | 'probe';
type Tag = 'tool_call' | 'tool_calls' | 'function' | 'function_calls';

const TAG_LITERALS: ReadonlyArray<[string, Tag]> = [
  ['<tool_call>', 'tool_call'],
  ['<tool_calls>', 'tool_calls'],
  ['<function_calls>', 'function_calls'],
  ['<function=', 'function'],
];
const CLOSERS: Record<Tag, string> = {
  tool_call: '</tool_call>',
  tool_calls: '</tool_calls>',
  function: '</function>',
  function_calls: '</function_calls>',
};

const STRAY_CLOSERS = [...Object.values(CLOSERS), '</tool_response>'];

interface Block {
  kind: BlockKind;
  phase: Phase;
  /** Bare JSON behind an explicit marker ([TOOL_CALLS]): no stricter bare-JSON rule. */
  loose: boolean;
  tag?: Tag;
  fnName?: string;
  bodyStart: number;
  pos: number;
  /** Completed JSON values [start, end) inside the block. */
  values: Array<[number, number]>;
  jsonStart: number;
  depth: number;
  inString: boolean;
  escape: boolean;
  // fence closing-line tracking
  fenceChar: number;
  lineStart: number;
  lineState: 0 | 1 | 2 | 3; // 0 indent, 1 fence run, 2 after run (blank so far), 3 not a closing line
  lineIndent: number;
  lineRun: number;
}

type Resolution =
  | { calls: Call[]; end: number }
  | { text: true; end: number; opensCode?: boolean };

/** Collects pieces of one push; merges neighbouring content and drops empty content. */
class PieceList {
  readonly list: ParsedPiece[] = [];
  content(text: string): void {
    if (!text) return;
    const last = this.list[this.list.length - 1];
    if (last && last.type === 'content') last.text += text;
    else this.list.push({ type: 'content', text });
  }
  call(c: Call): void {
    this.list.push({ type: 'tool_call', id: newCallId(), name: c.name, arguments: c.arguments });
  }
}

/**
 * Streaming parser of an answer that may contain emulated tool calls.
 *
 * Recognised (any number, with text before, between and after):
 * - `<tool_call>{"name":…,"arguments":{…}}</tool_call>` (the requested format), also with several
 *   JSON values or an array inside, a missing closing tag, or `<function=…>` inside;
 * - `<tool_calls>[…]</tool_calls>`;
 * - `<function=name>{…}</function>` (Llama 3.1) and `<function=name><parameter=k>v</parameter></function>` (Qwen3-Coder);
 * - `<function_calls><invoke name="…"><parameter name="k">v</parameter></invoke></function_calls>`;
 * - a fenced block (```json, ```tool_call, plain ```; or ~~~) whose body is only calls in any of the
 *   forms here, and a JSON object/array alone at the start of a line.
 * JSON forms: {"name","arguments"|"parameters"} with arguments as an object or a JSON string,
 * {"type":"function","function":{…}}, {"tool_calls":[…]}, {"function_call":{…}}, arrays of these;
 * trailing commas are forgiven.
 *
 * Holding back: from a `<` that may open a tag, a fence at the start of a line, or a `{`/`[` at the
 * start of a line, text is held until it is known to be a call or not; everything else, and
 * anything that turns out not to be a call (ordinary JSON, code blocks, unknown tool names when
 * `toolNames` is given), streams through unchanged. Code fences that do not start with call
 * markup are released as soon as their first body character shows it, and nothing inside them is
 * parsed. Whitespace right before and after calls is dropped; trailing whitespace of content is
 * held until more content follows; a stray closing tag right after a call is dropped. When the
 * model goes on to write a `<tool_response>` itself right after its calls (inventing the result),
 * that and everything after it is dropped: the calls stand, the invented answer does not.
 * Every push costs O(its length) plus the held prefix of a tag.
 */
export class ToolCallParser {
  private readonly names: Set<string> | undefined;
  private block: Block | undefined;
  private held = '';
  /** held.length before the current push; reads at or past it come from `chunk`. */
  private base = 0;
  private chunk = '';
  private pendingWs = '';
  private afterCall = false;
  /** Set once the model wrote a tool result itself: the rest of the answer is dropped. */
  private discarding = false;
  private lineStart = true;
  private inCode = false;
  private codeChar = 0;
  private codeRun = 0;

  constructor(opts?: { toolNames?: string[] }) {
    this.names = opts?.toolNames && opts.toolNames.length > 0 ? new Set(opts.toolNames) : undefined;
  }

  push(text: string): ParsedPiece[] {
    if (!text || this.discarding) return [];
    const out = new PieceList();
    if (this.block) {
      this.base = this.held.length;
      this.chunk = text;
      this.held += text;
      this.drive(out, false);
    } else if (this.scanText(text, out)) {
      this.drive(out, false);
    }
    return out.list;
  }

  /** Ends the stream: resolves what is held (releasing it as content if it is not a call) and resets. */
  finish(): ParsedPiece[] {
    const out = new PieceList();
    if (this.block) {
      this.base = this.held.length;
      this.chunk = '';
      this.drive(out, true);
    }
    if (!this.afterCall) out.content(this.pendingWs);
    this.block = undefined;
    this.held = '';
    this.base = 0;
    this.chunk = '';
    this.pendingWs = '';
    this.afterCall = false;
    this.discarding = false;
    this.lineStart = true;
    this.inCode = false;
    this.codeRun = 0;
    return out.list;
  }

  // --- text ---

  private emitText(s: string, out: PieceList): void {
    if (!s) return;
    let i = 0;
    if (this.afterCall) {
      while (i < s.length && isWs(s.charCodeAt(i))) i++;
      if (i === s.length) return;
      this.afterCall = false;
    }
    let k = s.length;
    while (k > i && isWs(s.charCodeAt(k - 1))) k--;
    if (k === i) {
      this.pendingWs += s.slice(i);
      return;
    }
    out.content(this.pendingWs + s.slice(i, k));
    this.pendingWs = s.slice(k);
  }

  private track(c: number): void {
    if (c === NL) {
      this.lineStart = true;
      this.codeRun = 0;
      return;
    }
    if (!this.lineStart) return;
    if ((c === SPACE || c === TAB) && this.codeRun === 0) return;
    if (this.inCode && c === this.codeChar) {
      if (++this.codeRun === 3) {
        this.inCode = false;
        this.lineStart = false;
      }
      return;
    }
    this.lineStart = false;
  }

  /** Scans plain text; returns true when a candidate block starts (then held/block are set). */
  private scanText(s: string, out: PieceList): boolean {
    const n = s.length;
    const start = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (!this.inCode) {
        let kind: BlockKind | undefined;
        if (c === LT) kind = 'tag';
        else if (this.lineStart && (c === TICK || c === TILDE)) kind = 'fence';
        else if (this.lineStart && (c === LBRACE || c === LBRACKET)) kind = 'bare';
        if (kind) {
          this.emitText(s.slice(start, i), out);
          this.held = s.slice(i);
          this.base = 0;
          this.chunk = this.held;
          this.block = newBlock(kind);
          return true;
        }
      }
      this.track(c);
    }
    this.emitText(s.slice(start, n), out);
    return false;
  }

  // --- blocks ---

  private ch(p: number): number {
    return p >= this.base ? this.chunk.charCodeAt(p - this.base) : this.held.charCodeAt(p);
  }

  private matchAt(p: number, lit: string): number {
    const n = this.held.length;
    for (let k = 0; k < lit.length; k++) {
      if (p + k >= n) return PARTIAL;
      if (this.ch(p + k) !== lit.charCodeAt(k)) return NONE;
    }
    return p + lit.length;
  }

  private skipWs(p: number): number {
    const n = this.held.length;
    while (p < n && isWs(this.ch(p))) p++;
    return p;
  }

  private onlyNewlines(from: number, to: number): boolean {
    for (let i = from; i < to; i++) {
      const c = this.ch(i);
      if (c !== NL && c !== CR) return false;
    }
    return true;
  }

  /** Resolves blocks as far as the held text allows; continues with the text after each. */
  private drive(out: PieceList, ended: boolean): void {
    while (this.block) {
      const r = this.advance(this.block, ended);
      if (!r) return;
      const held = this.held;
      this.block = undefined;
      this.held = '';
      if (this.discarding) return;
      if ('calls' in r) {
        this.pendingWs = '';
        for (const c of r.calls) out.call(c);
        this.afterCall = true;
        this.lineStart = true;
      } else {
        const released = held.slice(0, r.end);
        this.emitText(released, out);
        for (let i = 0; i < released.length; i++) this.track(released.charCodeAt(i));
        if (r.opensCode) {
          this.inCode = true;
          this.codeChar = released.charCodeAt(0);
          this.codeRun = 0;
        }
      }
      const rest = held.slice(r.end);
      if (rest && !this.scanText(rest, out)) return;
    }
  }

  private advance(b: Block, ended: boolean): Resolution | undefined {
    const n = this.held.length;
    for (;;) {
      switch (b.phase) {
        case 'open': {
          if (b.kind === 'tag') {
            let partial = false;
            if (this.afterCall) {
              // A stray closing tag right after a call is markup, not content.
              for (const closer of STRAY_CLOSERS) {
                const m = this.matchAt(0, closer);
                if (m === PARTIAL) partial = true;
                else if (m >= 0) return { calls: [], end: m };
              }
              // A made-up result right after a call: it and everything after it rest on nothing.
              const r = this.matchAt(0, '<tool_response');
              if (r === PARTIAL) partial = true;
              else if (r >= 0) {
                this.discarding = true;
                return { calls: [], end: n };
              }
            }
            for (const [lit, tag] of TAG_LITERALS) {
              const m = this.matchAt(0, lit);
              if (m === PARTIAL) partial = true;
              if (m < 0) continue;
              if (tag === 'function') {
                let p = m;
                while (p < n && p - m <= MAX_NAME && isNameChar(this.ch(p))) p++;
                if (p >= n && p - m <= MAX_NAME) return ended ? { text: true, end: n } : undefined;
                if (p === m || this.ch(p) !== 0x3e /* > */) return { text: true, end: 1 };
                b.fnName = this.held.slice(m, p);
                b.bodyStart = b.pos = p + 1;
              } else {
                b.bodyStart = b.pos = m;
              }
              b.tag = tag;
              b.phase = tag === 'function_calls' ? 'raw' : 'lead';
              break;
            }
            if (b.phase === 'open') {
              if (partial && !ended) return undefined;
              return { text: true, end: partial ? n : 1 };
            }
            continue;
          }
          // fence: ``` or ~~~ (3+), an info string, a newline
          const fc = this.ch(0);
          let p = 0;
          while (p < n && this.ch(p) === fc) p++;
          if (p < 3) {
            if (p >= n && !ended) return undefined;
            return { text: true, end: p >= n ? n : 1 };
          }
          const nl = this.held.indexOf('\n', p);
          if (nl < 0) {
            if (n - p > MAX_INFO) return { text: true, end: 1 };
            return ended ? { text: true, end: n } : undefined;
          }
          if (nl - p > MAX_INFO || this.held.slice(p, nl).includes(String.fromCharCode(fc))) return { text: true, end: 1 };
          b.fenceChar = fc;
          b.bodyStart = b.pos = nl + 1;
          b.phase = 'peek';
          continue;
        }
        case 'peek': {
          const p = (b.pos = this.skipWs(b.pos));
          if (p >= n) return ended ? { text: true, end: n } : undefined;
          const c = this.ch(p);
          let markup = c === LBRACE || c === LBRACKET;
          if (c === LT) {
            let partial = false;
            for (const [lit] of TAG_LITERALS) {
              const m = this.matchAt(p, lit);
              if (m === PARTIAL) partial = true;
              else if (m >= 0) markup = true;
            }
            if (!markup && partial) return ended ? { text: true, end: n } : undefined;
          }
          if (!markup) return { text: true, end: b.bodyStart, opensCode: true };
          b.phase = 'collect';
          b.pos = p;
          b.lineStart = p;
          b.lineState = 3;
          continue;
        }
        case 'collect': {
          for (let p = b.pos; p < n; p++) {
            const c = this.ch(p);
            if (c === NL) {
              if (b.lineState === 2) return this.resolveFence(b, b.lineStart, p + 1);
              b.lineStart = p + 1;
              b.lineState = 0;
              b.lineIndent = 0;
              b.lineRun = 0;
              continue;
            }
            switch (b.lineState) {
              case 0:
                if (c === SPACE && b.lineIndent < 3) b.lineIndent++;
                else if (c === b.fenceChar) {
                  b.lineState = 1;
                  b.lineRun = 1;
                } else b.lineState = 3;
                break;
              case 1:
                if (c === b.fenceChar) b.lineRun++;
                else if (b.lineRun >= 3 && (c === SPACE || c === TAB || c === CR)) b.lineState = 2;
                else b.lineState = 3;
                if (b.lineState === 1 && b.lineRun >= 3) b.lineState = 2;
                break;
              case 2:
                if (c === b.fenceChar && b.lineRun >= 3) break;
                if (c !== SPACE && c !== TAB && c !== CR) b.lineState = 3;
                break;
              default:
                break;
            }
          }
          b.pos = n;
          if (!ended) return undefined;
          if (b.lineState === 2) return this.resolveFence(b, b.lineStart, n);
          return this.resolveFence(b, n, n);
        }
        case 'probe': {
          // `{` or `[` at the start of a line: hold only until the first key shows whether it can be a call.
          let p = 0;
          if (this.ch(0) === LBRACKET) {
            const m = this.matchAt(0, MISTRAL_PREFIX);
            if (m === PARTIAL) return ended ? { text: true, end: n } : undefined;
            if (m >= 0) {
              const q = this.skipWs(m);
              if (q >= n) return ended ? { text: true, end: n } : undefined;
              const c = this.ch(q);
              if (c !== LBRACE && c !== LBRACKET) return { text: true, end: 1 };
              b.loose = true;
              b.phase = 'json';
              b.jsonStart = b.pos = q;
              continue;
            }
            p = this.skipWs(1);
            if (p >= n) return this.waitOrRelease(ended, n > MAX_PROBE);
            if (this.ch(p) !== LBRACE) return { text: true, end: 1 };
          }
          p = this.skipWs(p + 1);
          if (p >= n) return this.waitOrRelease(ended, n > MAX_PROBE);
          if (this.ch(p) !== QUOTE) return { text: true, end: 1 };
          const close = this.held.indexOf('"', p + 1);
          if (close < 0) return this.waitOrRelease(ended, n - p > 24);
          if (!CALL_KEYS.has(this.held.slice(p + 1, close)) && this.held.slice(p + 1, close) !== 'tool_calls' && this.held.slice(p + 1, close) !== 'function_call') {
            return { text: true, end: 1 };
          }
          b.phase = 'json';
          b.jsonStart = 0;
          b.pos = 0;
          continue;
        }
        case 'lead': {
          const p = (b.pos = this.skipWs(b.pos));
          if (p >= n) return ended ? { text: true, end: n } : undefined;
          const c = this.ch(p);
          if (c === LBRACE || c === LBRACKET) {
            b.phase = 'json';
            b.jsonStart = b.pos = p;
            continue;
          }
          if (c === LT) {
            const inner = b.tag === 'function' ? ['<parameter=', CLOSERS.function] : ['<function=', CLOSERS[b.tag!]];
            let partial = false;
            let match = false;
            for (const lit of inner) {
              const m = this.matchAt(p, lit);
              if (m === PARTIAL) partial = true;
              else if (m >= 0) match = true;
            }
            if (match) {
              b.phase = 'raw';
              b.pos = p;
              continue;
            }
            if (partial) return ended ? { text: true, end: n } : undefined;
          }
          if (b.tag === 'tool_call' && isNameChar(c) && this.onlyNewlines(b.bodyStart, p)) {
            // GLM style: `<tool_call>name` then a line break, `{arguments}` or `<arg_key>` pairs.
            let q = p;
            while (q < n && q - p <= MAX_NAME && isNameChar(this.ch(q))) q++;
            if (q >= n && q - p <= MAX_NAME) return ended ? { text: true, end: n } : undefined;
            const after = this.ch(q);
            const name = this.held.slice(p, q);
            if ((after === NL || after === CR || after === LBRACE || after === LT) && (!this.names || this.names.has(name))) {
              b.phase = 'raw';
              b.pos = q;
              continue;
            }
          }
          return { text: true, end: b.bodyStart };
        }
        case 'json': {
          let p = b.pos;
          if (p === b.jsonStart) {
            b.depth = 0;
            b.inString = false;
            b.escape = false;
          }
          let done = -1;
          for (; p < n; p++) {
            const c = this.ch(p);
            if (b.inString) {
              if (b.escape) b.escape = false;
              else if (c === 0x5c) b.escape = true;
              else if (c === QUOTE) b.inString = false;
            } else if (c === QUOTE) b.inString = true;
            else if (c === LBRACE || c === LBRACKET) b.depth++;
            else if (c === 0x7d || c === 0x5d) {
              if (--b.depth === 0) {
                done = p + 1;
                break;
              }
            }
          }
          if (done < 0) {
            b.pos = n;
            if (!ended) return undefined;
            return { text: true, end: n };
          }
          b.values.push([b.jsonStart, done]);
          if (b.kind === 'bare') return this.resolveValues(b, done);
          b.phase = 'after';
          b.pos = done;
          continue;
        }
        case 'after': {
          let p = (b.pos = this.skipWs(b.pos));
          if (p >= n) return ended ? this.resolveValues(b, n) : undefined;
          const c = this.ch(p);
          if (b.tag !== 'function' && c === 0x2c /* , */) {
            p = this.skipWs(p + 1);
            if (p >= n) {
              b.pos = p;
              if (!ended) return undefined;
              return this.resolveValues(b, n);
            }
          }
          const m = this.matchAt(p, CLOSERS[b.tag!]);
          if (m === PARTIAL) return ended ? this.resolveValues(b, n) : undefined;
          if (m >= 0) return this.resolveValues(b, m);
          const c2 = this.ch(p);
          if (b.tag !== 'function' && (c2 === LBRACE || c2 === LBRACKET)) {
            b.phase = 'json';
            b.jsonStart = b.pos = p;
            continue;
          }
          const last = b.values[b.values.length - 1]!;
          return this.resolveValues(b, last[1]);
        }
        case 'raw': {
          const closer = CLOSERS[b.tag!];
          for (let p = b.pos; p < n; p++) {
            if (this.ch(p) !== LT) continue;
            const m = this.matchAt(p, closer);
            if (m === NONE) continue;
            if (m === PARTIAL) {
              b.pos = p;
              if (!ended) return undefined;
              break;
            }
            return this.resolveRaw(b, this.held.slice(b.bodyStart, p), m);
          }
          if (!ended) {
            b.pos = n;
            return undefined;
          }
          return this.resolveRaw(b, this.held.slice(b.bodyStart), n);
        }
      }
    }
  }

  private waitOrRelease(ended: boolean, tooLong: boolean): Resolution | undefined {
    if (tooLong) return { text: true, end: 1 };
    return ended ? { text: true, end: this.held.length } : undefined;
  }

  private resolveValues(b: Block, end: number): Resolution {
    const calls: Call[] = [];
    for (const [s, e] of b.values) {
      const v = parseJsonLoose(this.held.slice(s, e));
      let c: Call[] | undefined;
      if (b.tag === 'function') {
        const args = isPlainObject(v) ? JSON.stringify(v) : undefined;
        c = args && b.fnName && (!this.names || this.names.has(b.fnName)) ? [{ name: b.fnName, arguments: args }] : undefined;
      } else {
        c = callsFromValue(v, this.names, b.kind === 'bare' && !b.loose);
      }
      if (!c) return { text: true, end };
      calls.push(...c);
    }
    return { calls, end };
  }

  private resolveRaw(b: Block, body: string, end: number): Resolution {
    let calls: Call[] | undefined;
    if (b.tag === 'function') {
      const args = body.trim() ? parameterPairs(body, '<parameter=', '</parameter>') : {};
      if (args && b.fnName && (!this.names || this.names.has(b.fnName))) {
        calls = [{ name: b.fnName, arguments: JSON.stringify(args) }];
      }
    } else if (b.tag === 'function_calls') {
      calls = invokeCalls(body, this.names);
    } else {
      calls = this.callsOnly(body) ?? (b.tag === 'tool_call' ? nameAndArguments(body, this.names) : undefined);
    }
    return calls ? { calls, end } : { text: true, end };
  }

  private resolveFence(b: Block, bodyEnd: number, end: number): Resolution {
    const calls = this.callsOnly(this.held.slice(b.bodyStart, bodyEnd));
    return calls ? { calls, end } : { text: true, end };
  }

  /** The calls in `text` when it holds nothing but calls (and whitespace); otherwise undefined. */
  private callsOnly(text: string): Call[] | undefined {
    const inner = new ToolCallParser(this.names ? { toolNames: [...this.names] } : undefined);
    const pieces = [...inner.push(text), ...inner.finish()];
    const calls: Call[] = [];
    for (const p of pieces) {
      if (p.type === 'tool_call') calls.push({ name: p.name, arguments: p.arguments });
      else if (p.text.trim()) return undefined;
    }
    return calls.length > 0 ? calls : undefined;
  }
}

function newBlock(kind: BlockKind): Block {
  return {
    kind,
    phase: kind === 'bare' ? 'probe' : 'open',
    loose: false,
    bodyStart: 0,
    pos: 0,
    values: [],
    jsonStart: 0,
    depth: 0,
    inString: false,
    escape: false,
    fenceChar: 0,
    lineStart: 0,
    lineState: 0,
    lineIndent: 0,
    lineRun: 0,
  };
}
