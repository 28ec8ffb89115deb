/** The two element helpers every part of the page uses. */

/** An element with attributes and, optionally, trusted inner HTML (icons, our own strings; never user text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, html?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (html !== undefined) el.innerHTML = html;
  return el;
}

/** A button showing an icon, named for screen readers and on hover. */
export function iconButton(cls: string, icon: string, label: string): HTMLButtonElement {
  return h('button', { type: 'button', class: `icon-btn ${cls}`, 'aria-label': label, title: label }, icon);
}
