/**
 * The app's form on the chat page: which of the app's input variables the page asks for before a
 * chat starts, and the checks on what the page sends back. Dify fills variables only when a
 * conversation starts; apps with required ones answer nothing without them.
 */
import type { AppInputField, AppParameters } from '../../backend/types.js';
import { hasConversation, textInputVariable } from '../../dify/app-inputs.js';
import type { PageInputField } from './protocol.js';

/** Dify's field types the page can draw, by the page's name for them. Files and JSON are left to Dify's own page. */
const PAGE_TYPES: Record<string, PageInputField['type']> = {
  'text-input': 'text',
  paragraph: 'paragraph',
  select: 'select',
  number: 'number',
  checkbox: 'checkbox',
};

const MAX_TEXT = 10_000;

export function pageInputFields(fields: readonly AppInputField[]): PageInputField[] {
  const out: PageInputField[] = [];
  for (const f of fields) {
    const type = PAGE_TYPES[f.type];
    if (!type || !f.variable) continue;
    if (type === 'select' && !(f.options && f.options.length > 0)) continue;
    const field: PageInputField = { variable: f.variable, label: f.label || f.variable, type, required: f.required };
    if (f.maxLength && f.maxLength > 0 && (type === 'text' || type === 'paragraph')) field.maxLength = f.maxLength;
    if (type === 'select') field.options = f.options!;
    const d = f.default;
    if (typeof d === 'string' || typeof d === 'number' || typeof d === 'boolean') field.default = d;
    out.push(field);
  }
  return out;
}

/** The form the page shows for an app: without the input a text generator or workflow takes the message in. */
export function pageFormFields(app: { info: { mode: string } }, params: AppParameters | undefined): PageInputField[] {
  const fields = pageInputFields(params?.inputs ?? []);
  if (hasConversation(app.info.mode)) return fields;
  const text = textInputVariable(params);
  return fields.filter((f) => f.variable !== text);
}

/**
 * The values the page sent for the form, checked against it: only the app's own fields, of the
 * right type and length, options from the list. Empty values are left out (the app's defaults apply).
 */
export function checkPageInputs(
  fields: readonly PageInputField[],
  sent: unknown,
): { inputs: Record<string, string | number | boolean> } | { error: string; param: string } {
  const inputs: Record<string, string | number | boolean> = {};
  if (sent === undefined || sent === null) return { inputs };
  if (typeof sent !== 'object' || Array.isArray(sent)) return { error: 'inputs must be an object', param: 'inputs' };
  const values = sent as Record<string, unknown>;
  for (const f of fields) {
    const v = values[f.variable];
    if (v === undefined || v === null || v === '') continue;
    const param = `inputs.${f.variable}`;
    switch (f.type) {
      case 'text':
      case 'paragraph':
      case 'select': {
        if (typeof v !== 'string') return { error: `${f.label} must be text`, param };
        if (v.length > (f.maxLength ?? MAX_TEXT)) return { error: `${f.label} is longer than ${f.maxLength ?? MAX_TEXT} characters`, param };
        if (f.type === 'select' && !f.options!.includes(v)) return { error: `${f.label} must be one of the listed options`, param };
        inputs[f.variable] = v;
        break;
      }
      case 'number': {
        const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
        if (!Number.isFinite(n)) return { error: `${f.label} must be a number`, param };
        inputs[f.variable] = n;
        break;
      }
      case 'checkbox':
        if (typeof v !== 'boolean') return { error: `${f.label} must be true or false`, param };
        inputs[f.variable] = v;
        break;
    }
  }
  return { inputs };
}
