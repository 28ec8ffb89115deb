/**
 * From a delivery to the app's inputs: the whole payload into one input, `input=json.path` picks,
 * the `<name>` path segment; each value converted to what the app declares for that input
 * (text inputs get strings, number inputs numbers, JSON inputs objects, file inputs URLs Dify fetches).
 */
import type { AppInputField, DifyFileInput } from '../../backend/types.js';
import { WebhookHttpError } from './errors.js';
import type { InputMappingEntry } from './settings.js';

type PathStep = string | number;

/**
 * Splits `pull_request.labels[0].name`, `commits.0.id`, `$.a.b` or `a["dotted.key"]` into steps.
 * Returns null for a path that does not parse.
 */
export function parsePath(path: string): PathStep[] | null {
  const steps: PathStep[] = [];
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  if (rest.startsWith('.')) rest = rest.slice(1);
  const token = /^(?:\[(\d+)\]|\[\s*(["'])((?:\\.|(?!\2).)*)\2\s*\]|([^.[\]]+))(\.)?/;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (!m) return null;
    if (m[1] !== undefined) steps.push(Number(m[1]));
    else if (m[3] !== undefined) steps.push(m[3].replace(/\\(.)/g, '$1'));
    else steps.push(m[4]!);
    rest = rest.slice(m[0].length);
    if (m[5] && rest.length === 0) return null; // trailing dot
  }
  return steps.length > 0 ? steps : null;
}

/** The value at `path` in `document`, or undefined where the path leads nowhere. */
export function valueAtPath(document: unknown, path: string): unknown {
  const steps = parsePath(path);
  if (!steps) return undefined;
  let current: unknown = document;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      const index = typeof step === 'number' ? step : /^\d+$/.test(step) ? Number(step) : NaN;
      current = Number.isInteger(index) ? current[index] : undefined;
    } else {
      current = Object.prototype.hasOwnProperty.call(current, step) ? (current as Record<string, unknown>)[String(step)] : undefined;
    }
  }
  return current;
}

const STRING_TYPES = new Set(['text-input', 'paragraph', 'select', 'string']);
const JSON_TYPES = new Set(['json', 'json_object', 'object', 'array']);

function asString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function inputError(input: string, message: string): WebhookHttpError {
  return new WebhookHttpError(422, 'invalid_input', `App input "${input}": ${message}`);
}

/** Dify's file kinds by extension; anything else is `custom`. */
const FILE_KINDS: Array<[RegExp, 'image' | 'document' | 'audio' | 'video']> = [
  [/\.(png|jpe?g|gif|webp|svg|bmp)$/i, 'image'],
  [/\.(pdf|docx?|txt|md|markdown|csv|xlsx?|pptx?|html?|xml|epub|json|eml|msg)$/i, 'document'],
  [/\.(mp3|wav|m4a|amr|mpga|ogg|flac)$/i, 'audio'],
  [/\.(mp4|mov|mpeg|webm|mkv)$/i, 'video'],
];

/**
 * A file input filled from the payload: an http(s) URL (or an object with `url`) that Dify downloads
 * itself (`remote_url`, through its own SSRF proxy). The kind comes from the file name.
 */
function remoteFile(input: string, value: unknown): DifyFileInput {
  const url = typeof value === 'string' ? value : value && typeof value === 'object' ? (value as { url?: unknown }).url : undefined;
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(url.trim())) {
    throw inputError(input, 'a file input takes an http(s) URL (or an object with a url) from the payload.');
  }
  const path = new URL(url.trim()).pathname;
  const kind = FILE_KINDS.find(([pattern]) => pattern.test(path))?.[1] ?? 'custom';
  return { type: kind, transfer_method: 'remote_url', url: url.trim() };
}

/** Converts one value for an input the app declares as `field`; undeclared inputs keep JSON scalars, objects become JSON text. */
export function convertForInput(input: string, value: unknown, field: AppInputField | undefined): unknown {
  if (!field) return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
  const type = field.type;
  if (STRING_TYPES.has(type)) {
    const text = asString(value);
    if (field.maxLength !== undefined && field.maxLength > 0 && text.length > field.maxLength) {
      throw inputError(
        input,
        `the value has ${text.length} characters but the app allows at most ${field.maxLength}; raise the input's max length or use a paragraph input.`,
      );
    }
    if (type === 'select' && field.options && field.options.length > 0 && !field.options.includes(text)) {
      throw inputError(input, `"${text.slice(0, 100)}" is not one of the app's options.`);
    }
    return text;
  }
  if (type === 'number') {
    const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(number)) throw inputError(input, 'the app expects a number.');
    return number;
  }
  if (type === 'checkbox' || type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 1 || value === '1') return true;
    if (value === 'false' || value === 0 || value === '0') return false;
    throw inputError(input, 'the app expects true or false.');
  }
  if (JSON_TYPES.has(type)) {
    if (typeof value === 'string') {
      try {
        return JSON.parse(value);
      } catch {
        throw inputError(input, 'the app expects a JSON object, and the value is text that is not JSON.');
      }
    }
    return value;
  }
  if (type === 'file') {
    if (Array.isArray(value)) throw inputError(input, 'the app takes one file here; the payload holds a list.');
    return remoteFile(input, value);
  }
  if (type === 'file-list') return (Array.isArray(value) ? value : [value]).map((v) => remoteFile(input, v));
  // A type this version does not know: send what the payload holds.
  return value;
}

export interface InputSources {
  /** Declared inputs of the app; undefined when the app's parameters could not be read. */
  declared: AppInputField[] | undefined;
  payloadInput: string;
  /** The whole payload: its text (text inputs) and its parsed form (JSON inputs). */
  payloadText: string;
  payloadDocument: unknown;
  mapping: InputMappingEntry[];
  nameInput: string;
  name: string | undefined;
}

/** The app's inputs for one delivery. Mapped paths that lead nowhere are left out. */
export function buildInputs(sources: InputSources): Record<string, unknown> {
  const fields = new Map((sources.declared ?? []).map((field) => [field.variable, field]));
  const inputs: Record<string, unknown> = {};
  if (sources.payloadInput !== '') {
    const field = fields.get(sources.payloadInput);
    inputs[sources.payloadInput] =
      field && JSON_TYPES.has(field.type) && sources.payloadDocument !== null && typeof sources.payloadDocument === 'object'
        ? sources.payloadDocument
        : convertForInput(sources.payloadInput, sources.payloadText, field);
  }
  for (const { input, path } of sources.mapping) {
    const value = valueAtPath(sources.payloadDocument, path);
    if (value === undefined || value === null) continue;
    inputs[input] = convertForInput(input, value, fields.get(input));
  }
  if (sources.nameInput !== '' && sources.name !== undefined) {
    inputs[sources.nameInput] = convertForInput(sources.nameInput, sources.name, fields.get(sources.nameInput));
  }
  return inputs;
}
