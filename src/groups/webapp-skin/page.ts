/** The two HTML documents: the chat page (config inlined) and the login form. Everything they load is relative. */
import { assetUrl } from './assets.js';
import type { PageConfig } from './config.js';
import type { Skin } from './settings.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`, no U+2028/2029 surprises. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const THEME_COLORS: Record<Skin, [string, string]> = {
  minimal: ['#ffffff', '#0e0e10'],
  cute: ['#fdeef4', '#2a2033'],
  korean: ['#bacee0', '#1e2630'],
  classic: ['#3b5b98', '#1f2b45'],
};

function head(title: string, skin: Skin): string {
  const [light, dark] = THEME_COLORS[skin];
  return `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover, interactive-widget=resizes-content">
<meta name="color-scheme" content="light dark">
<meta name="theme-color" media="(prefers-color-scheme: light)" content="${light}">
<meta name="theme-color" media="(prefers-color-scheme: dark)" content="${dark}">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="${assetUrl('favicon.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${assetUrl(`skin-${skin}.css`)}">`;
}

export function renderPage(config: PageConfig): string {
  return `<!doctype html>
<html lang="${config.lang === 'zh' ? 'zh-CN' : 'en'}" data-skin="${config.skin}">
<head>
${head(config.botName, config.skin)}
<script type="application/json" id="dbw-config">${scriptJson(config)}</script>
<script type="module" src="${assetUrl('app.js')}"></script>
</head>
<body>
<div id="app" class="app"><noscript><p class="noscript">${
    config.lang === 'zh' ? '此聊天页面需要启用 JavaScript。' : 'This chat page needs JavaScript.'
  }</p></noscript></div>
</body>
</html>
`;
}

const LOGIN_TEXT = {
  en: {
    title: 'Sign in',
    heading: 'This chat is protected',
    hint: 'Enter the access password to continue.',
    label: 'Password',
    button: 'Continue',
    failed: 'That password is not right. Please try again.',
  },
  zh: {
    title: '登录',
    heading: '此对话需要密码',
    hint: '请输入访问密码以继续。',
    label: '密码',
    button: '继续',
    failed: '密码不正确，请重试。',
  },
};

/** Nothing about the app or the endpoint: only the form. */
export function renderLogin(skin: Skin, lang: 'zh' | 'en', failed: boolean): string {
  const t = LOGIN_TEXT[lang];
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}" data-skin="${skin}">
<head>
${head(t.title, skin)}
</head>
<body>
<main class="login">
  <form class="login-card" method="post" action="api/login">
    <div class="login-mark" aria-hidden="true"><svg viewBox="0 0 24 24" width="28" height="28"><path fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" d="M7 11V8a5 5 0 0 1 10 0v3M6 11h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1Zm6 4v2"/></svg></div>
    <h1>${t.heading}</h1>
    <p class="login-hint">${t.hint}</p>
    ${failed ? `<p class="login-error" role="alert">${t.failed}</p>` : ''}
    <label class="login-label" for="password">${t.label}</label>
    <input class="login-input" id="password" name="password" type="password" autocomplete="current-password" required autofocus${failed ? ' aria-invalid="true"' : ''}>
    <button class="login-button" type="submit">${t.button}</button>
  </form>
</main>
</body>
</html>
`;
}
