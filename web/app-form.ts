/**
 * The app's form (its input variables), asked before a chat starts: Dify takes the variables when a
 * conversation starts. Draws the fields, reads them back, and says which required one is missing.
 */
import { h } from './dom.js';
import { fill, type Strings } from './i18n.js';
import type { PageInputField } from './types.js';

export type FormValues = Record<string, string | number | boolean>;
type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export class AppForm {
  readonly element: HTMLElement;
  private readonly controls = new Map<string, Control>();
  private readonly error: HTMLElement;

  /** `values`: what to show filled in (the chat's own, or the last chat's); else the app's defaults. */
  constructor(
    private readonly fields: PageInputField[],
    values: FormValues,
    private readonly t: Strings,
  ) {
    this.element = h('fieldset', { class: 'inputs-form' });
    const legend = h('legend');
    legend.textContent = t.formTitle;
    this.element.append(legend);
    fields.forEach((f, i) => this.element.append(this.row(f, `dbw-input-${i}`, values[f.variable] ?? f.default)));
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.error.hidden = true;
    this.element.append(this.error);
  }

  private row(f: PageInputField, id: string, value: string | number | boolean | undefined): HTMLElement {
    const row = h('div', { class: `field field-${f.type}` });
    const label = h('label', { for: id });
    label.textContent = f.label;
    if (!f.required) label.append(h('span', { class: 'field-optional' }, ` · ${this.t.optional}`));
    let control: Control;
    if (f.type === 'select') {
      control = h('select', { id });
      if (!f.required) control.append(h('option', { value: '' }));
      for (const option of f.options ?? []) {
        const o = h('option', { value: option });
        o.textContent = option;
        control.append(o);
      }
      control.value = typeof value === 'string' && f.options?.includes(value) ? value : f.required ? (f.options?.[0] ?? '') : '';
    } else if (f.type === 'paragraph') {
      control = h('textarea', { id, rows: '3' });
      control.value = value === undefined ? '' : String(value);
    } else if (f.type === 'checkbox') {
      control = h('input', { id, type: 'checkbox' });
      control.checked = value === true;
    } else {
      control = h('input', { id, type: f.type === 'number' ? 'number' : 'text', autocomplete: 'off' });
      control.value = value === undefined ? '' : String(value);
    }
    if (f.maxLength && !(control instanceof HTMLSelectElement)) control.setAttribute('maxlength', String(f.maxLength));
    if (f.required) control.setAttribute('aria-required', 'true');
    control.addEventListener('input', () => control.removeAttribute('aria-invalid'));
    this.controls.set(f.variable, control);
    if (f.type === 'checkbox') row.append(control, label);
    else row.append(label, control);
    return row;
  }

  /** The values, or undefined (the first empty required field marked, focused and named) when one is missing. */
  read(): FormValues | undefined {
    const values: FormValues = {};
    for (const f of this.fields) {
      const control = this.controls.get(f.variable)!;
      if (control instanceof HTMLInputElement && control.type === 'checkbox') {
        values[f.variable] = control.checked;
        continue;
      }
      const raw = control.value.trim();
      if (raw !== '') values[f.variable] = f.type === 'number' ? Number(raw) : raw;
      else if (f.required) {
        control.setAttribute('aria-invalid', 'true');
        control.focus();
        this.error.textContent = fill(this.t.fieldRequired, { label: f.label });
        this.error.hidden = false;
        return undefined;
      }
    }
    return values;
  }
}

/** What a chat started with, as one line (`Language: Français · Your name: Ada`), or undefined when nothing was set. */
export function formSummary(fields: PageInputField[], values: FormValues | undefined): string | undefined {
  const parts = fields.filter((f) => values?.[f.variable] !== undefined).map((f) => `${f.label}: ${values![f.variable] === true ? '✓' : String(values![f.variable])}`);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}
