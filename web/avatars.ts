/** Each skin's bot avatar, drawn as inline SVG (no image requests). */
import type { Skin } from './types.js';

function initial(name: string): string {
  const ch = Array.from(name.trim())[0] ?? 'A';
  return ch.toUpperCase().replace(/[&<>"']/g, '');
}

export function botAvatar(skin: Skin, name: string): string {
  switch (skin) {
    case 'cute':
      return `<svg viewBox="0 0 64 64" aria-hidden="true" focusable="false">
  <defs><linearGradient id="cute-body" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#ffd6e7"/><stop offset="1" stop-color="#ffb3d1"/></linearGradient></defs>
  <path d="M20 14c-2-6 1-10 5-9 3 1 4 4 4 7M44 14c2-6-1-10-5-9-3 1-4 4-4 7" fill="#ffc2dc" stroke="#e98ab5" stroke-width="2" stroke-linecap="round"/>
  <ellipse cx="32" cy="36" rx="25" ry="22" fill="url(#cute-body)" stroke="#e98ab5" stroke-width="2"/>
  <ellipse cx="23" cy="34" rx="3.4" ry="4.2" fill="#4a3550"/><ellipse cx="41" cy="34" rx="3.4" ry="4.2" fill="#4a3550"/>
  <circle cx="24.3" cy="32.4" r="1.3" fill="#fff"/><circle cx="42.3" cy="32.4" r="1.3" fill="#fff"/>
  <ellipse cx="16.5" cy="41" rx="4" ry="2.6" fill="#ff8fbf" opacity=".55"/><ellipse cx="47.5" cy="41" rx="4" ry="2.6" fill="#ff8fbf" opacity=".55"/>
  <path d="M28.5 41.5q1.75 2.2 3.5 0q1.75 2.2 3.5 0" fill="none" stroke="#4a3550" stroke-width="1.8" stroke-linecap="round"/>
</svg>`;
    case 'korean':
      return `<svg viewBox="0 0 64 64" aria-hidden="true" focusable="false">
  <rect width="64" height="64" rx="24" fill="#9fd3c7"/>
  <circle cx="19" cy="22" r="6" fill="#fff6e9"/><circle cx="45" cy="22" r="6" fill="#fff6e9"/>
  <circle cx="19" cy="22" r="2.6" fill="#f3c7a6"/><circle cx="45" cy="22" r="2.6" fill="#f3c7a6"/>
  <ellipse cx="32" cy="37" rx="18" ry="16" fill="#fff6e9"/>
  <circle cx="25.5" cy="35" r="2.1" fill="#3b3b3b"/><circle cx="38.5" cy="35" r="2.1" fill="#3b3b3b"/>
  <ellipse cx="32" cy="41" rx="4.2" ry="3" fill="#f3c7a6"/><path d="M30.6 40.2h2.8" stroke="#3b3b3b" stroke-width="1.6" stroke-linecap="round"/>
</svg>`;
    case 'classic':
      return `<svg viewBox="0 0 64 64" aria-hidden="true" focusable="false">
  <defs><linearGradient id="classic-bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6d8fd0"/><stop offset="1" stop-color="#3b5b98"/></linearGradient></defs>
  <rect x="1" y="1" width="62" height="62" rx="6" fill="url(#classic-bg)" stroke="#2d477a" stroke-width="2"/>
  <rect x="4" y="4" width="56" height="28" rx="4" fill="#fff" opacity=".14"/>
  <text x="32" y="43" text-anchor="middle" font-family="Georgia, 'Times New Roman', serif" font-size="30" font-weight="700" fill="#fff">${initial(name)}</text>
</svg>`;
    default:
      return `<svg viewBox="0 0 64 64" aria-hidden="true" focusable="false">
  <circle cx="32" cy="32" r="31" fill="currentColor"/>
  <path d="M32 15.5 35.6 28.4 48.5 32 35.6 35.6 32 48.5 28.4 35.6 15.5 32 28.4 28.4Z" class="ink"/>
</svg>`;
  }
}
