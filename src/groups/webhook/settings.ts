/**
 * The webhook group's settings (settings/webhook.yaml), validated with zod. A misconfigured endpoint
 * is the operator's problem: it answers 500 with the names of the settings to fix, never a secret.
 */
import { z } from 'zod';
import { WebhookHttpError } from './errors.js';

export type Verification = 'none' | 'bearer' | 'hmac_sha256' | 'slack';
export type ResponseMode = 'async' | 'sync';

/** One `input=json.path` pair of the input_mapping setting. */
export interface InputMappingEntry {
  input: string;
  path: string;
}

export interface WebhookSettings {
  app: unknown;
  verification: Verification;
  /** Empty when verification is `none`. */
  secret: string;
  signatureHeader: string;
  /** The app input that receives the whole payload; '' for none. */
  payloadInput: string;
  inputMapping: InputMappingEntry[];
  /** The app input that receives the `<name>` path segment; '' for none. */
  nameInput: string;
  responseMode: ResponseMode;
}

/**
 * Unset settings arrive as an absent key (standalone config without it), `null` (an empty YAML value,
 * Dify's stored null) or '' (a cleared form field): all three mean "use the default".
 */
const unset = (value: unknown) => (value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value);
const optionalText = z.preprocess(unset, z.string().trim().optional());

const settingsSchema = z.object({
  app: z.unknown().refine((value) => value !== undefined && value !== null && value !== '', 'required'),
  verification: z.preprocess(unset, z.enum(['none', 'bearer', 'hmac_sha256', 'slack']).default('hmac_sha256')),
  secret: z.preprocess(unset, z.string().optional()),
  signature_header: optionalText,
  // '' is meaningful here (documented: "leave empty to pass none"); only absent or null mean the default.
  payload_input: z.preprocess((value) => (value === null ? undefined : value), z.string().trim().optional()),
  input_mapping: optionalText,
  name_input: optionalText,
  response_mode: z.preprocess(unset, z.enum(['async', 'sync']).default('sync')),
});

const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `title=pull_request.title, author=sender.login` (comma or newline separated).
 * Throws a 500 WebhookHttpError naming the bad pair: a broken mapping is a setup error.
 */
export function parseInputMapping(text: string | undefined): InputMappingEntry[] {
  if (!text) return [];
  const entries: InputMappingEntry[] = [];
  for (const part of text.split(/[,\n]/)) {
    const pair = part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const input = eq < 0 ? '' : pair.slice(0, eq).trim();
    const path = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (!INPUT_NAME.test(input) || path === '') {
      throw new WebhookHttpError(
        500,
        'endpoint_misconfigured',
        `This endpoint is not configured correctly: input_mapping entry "${pair}" is not of the form input=json.path.`,
      );
    }
    entries.push({ input, path });
  }
  return entries;
}

export function readSettings(raw: Record<string, unknown>): WebhookSettings {
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? 'settings')))].join(', ');
    throw new WebhookHttpError(500, 'endpoint_misconfigured', `This endpoint is not configured correctly (check the setting(s): ${fields}).`);
  }
  const s = parsed.data;
  const secret = s.secret ?? '';
  if (s.verification !== 'none' && secret === '') {
    throw new WebhookHttpError(
      500,
      'endpoint_misconfigured',
      `This endpoint is not configured correctly: verification is ${s.verification} but no secret is set.`,
    );
  }
  const nameInput = s.name_input ?? '';
  if (nameInput !== '' && !INPUT_NAME.test(nameInput)) {
    throw new WebhookHttpError(500, 'endpoint_misconfigured', 'This endpoint is not configured correctly (check the setting(s): name_input).');
  }
  return {
    app: s.app,
    verification: s.verification,
    secret,
    signatureHeader: s.signature_header || 'X-Hub-Signature-256',
    // An absent setting means the default; an explicitly blank one means "do not pass the payload".
    payloadInput: s.payload_input === undefined ? 'payload' : s.payload_input,
    inputMapping: parseInputMapping(s.input_mapping),
    nameInput,
    responseMode: s.response_mode,
  };
}
