// One declaration problem, reported as ONE line: `<file>: <field path>: <rule>`.
// The daemon would reject the same file later (at packaging, upload, remote registration or endpoint
// set-up) with a far less helpful message, so start-up stops on the first one.
import type { z } from 'zod';

export class DeclarationError extends Error {
  constructor(
    /** The file, relative to the plugin folder, `/`-separated (e.g. `settings/llm.yaml`). */
    readonly file: string,
    /** Dotted field path inside the file (`settings[1].scope`); empty for the whole file. */
    readonly field: string,
    /** The rule that failed, in words. */
    readonly rule: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${rule}`);
    this.name = 'DeclarationError';
  }
}

/** `['settings', 1, 'scope']` -> `settings[1].scope`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** A short, safe rendering of a value for a message (long strings are cut). */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

/** Turns the first zod issue into a DeclarationError for `file`. */
export function declarationErrorFromZod(file: string, error: z.ZodError): DeclarationError {
  const issue = error.issues[0];
  if (!issue) return new DeclarationError(file, '', 'is invalid');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      return new DeclarationError(file, fieldPath([...issue.path, key]), 'is not a known key here (misspelt?)');
    }
    case 'invalid_type': {
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      // A custom message set on the schema wins over the generic wording.
      if (!issue.message.startsWith('Invalid input')) return new DeclarationError(file, fieldPath(issue.path), issue.message);
      if (input === undefined) return new DeclarationError(file, fieldPath(issue.path), `is required (${expected})`);
      return new DeclarationError(file, fieldPath(issue.path), `must be ${expected}, not ${show(input)}`);
    }
    default:
      return new DeclarationError(file, fieldPath(issue.path), issue.message);
  }
}
