// Werkzeug-compatible rule matching (the Python SDK routes with werkzeug, so declared paths use
// its syntax): `<name>`, `<string:name>`, `<int:name>`, `<float:name>`, `<path:name>`,
// `<uuid:name>`, `<any(a,b):name>`; strict slashes; GET rules also answer HEAD.

export type RouteValues = Record<string, string | number>;

interface Converter {
  regex: string;
  convert: (raw: string) => string | number;
  /** werkzeug weighs path converters last when several rules match */
  weight: number;
}

export class RuleSyntaxError extends Error {
  override readonly name = 'RuleSyntaxError';
}

function converterFor(name: string, args: string | undefined, rule: string): Converter {
  const options = parseArgs(args);
  switch (name) {
    case 'default':
    case 'string': {
      const min = Number(options['minlength'] ?? 1);
      const max = options['maxlength'] !== undefined ? String(Number(options['maxlength'])) : '';
      const length = options['length'] !== undefined ? `{${Number(options['length'])}}` : `{${min},${max}}`;
      return { regex: `[^/]${length}`, convert: (raw) => raw, weight: 100 };
    }
    case 'path':
      return { regex: '[^/].*?', convert: (raw) => raw, weight: 200 };
    case 'int': {
      const signed = options['signed'] === 'True' || options['signed'] === 'true';
      return { regex: signed ? '-?\\d+' : '\\d+', convert: (raw) => parseInt(raw, 10), weight: 50 };
    }
    case 'float': {
      const signed = options['signed'] === 'True' || options['signed'] === 'true';
      return { regex: signed ? '-?\\d+\\.\\d+' : '\\d+\\.\\d+', convert: (raw) => parseFloat(raw), weight: 50 };
    }
    case 'uuid':
      return { regex: '[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}', convert: (raw) => raw, weight: 50 };
    case 'any': {
      const items = (args ?? '').split(',').map((s) => s.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean);
      if (items.length === 0) throw new RuleSyntaxError(`rule ${rule}: any() needs items`);
      return { regex: `(?:${items.map(escapeRegex).join('|')})`, convert: (raw) => raw, weight: 50 };
    }
    default:
      throw new RuleSyntaxError(`rule ${rule}: unknown converter "${name}"`);
  }
}

function parseArgs(args: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args) return out;
  for (const part of args.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim().replace(/^['"]|['"]$/g, '');
  }
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const PLACEHOLDER = /<(?:([a-zA-Z_][a-zA-Z0-9_]*)(?:\(([^)]*)\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>/g;

export interface CompiledRule {
  rule: string;
  methods: Set<string>;
  regex: RegExp;
  names: string[];
  converters: Converter[];
  /** sort key: static rules first, then converters by weight */
  weights: number[];
}

export function compileRule(rule: string, method: string): CompiledRule {
  if (!rule.startsWith('/')) throw new RuleSyntaxError(`rule ${rule}: must start with "/"`);
  let pattern = '^';
  let last = 0;
  const names: string[] = [];
  const converters: Converter[] = [];
  const weights: number[] = [];
  for (const match of rule.matchAll(PLACEHOLDER)) {
    const literal = rule.slice(last, match.index);
    pattern += escapeRegex(literal);
    if (literal) weights.push(0);
    const converter = converterFor(match[1] ?? 'default', match[2], rule);
    const name = match[3]!;
    if (names.includes(name)) throw new RuleSyntaxError(`rule ${rule}: variable "${name}" used twice`);
    names.push(name);
    converters.push(converter);
    weights.push(converter.weight);
    pattern += `(${converter.regex})`;
    last = match.index + match[0].length;
  }
  const tail = rule.slice(last);
  if (tail.includes('<') || tail.includes('>')) throw new RuleSyntaxError(`rule ${rule}: malformed placeholder`);
  pattern += escapeRegex(tail) + '$';
  if (tail) weights.push(0);
  const upper = method.toUpperCase();
  const methods = new Set([upper]);
  if (upper === 'GET') methods.add('HEAD');
  return { rule, methods, regex: new RegExp(pattern), names, converters, weights };
}

export type MatchResult<T> =
  | { ok: true; route: T; values: RouteValues }
  | { ok: false; status: 404 | 405 | 308; message: string };

export const NOT_FOUND_MESSAGE = '404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';
export const METHOD_NOT_ALLOWED_MESSAGE = '405 Method Not Allowed: The method is not allowed for the requested URL.';

export interface RuleRouterOptions {
  /** match `//v1//models` as `/v1/models` (werkzeug would redirect, which the SDK reports as not found) */
  mergeSlashes?: boolean;
}

export class RuleRouter<T> {
  private readonly rules: Array<{ compiled: CompiledRule; route: T; order: number }> = [];

  constructor(private readonly options: RuleRouterOptions = {}) {}

  add(rule: string, method: string, route: T): void {
    this.rules.push({ compiled: compileRule(rule, method), route, order: this.rules.length });
    this.rules.sort((a, b) => compareWeights(a.compiled.weights, b.compiled.weights) || a.order - b.order);
  }

  /** `path` is the percent-encoded path from the request line; werkzeug matches the decoded form. */
  match(method: string, path: string): MatchResult<T> {
    const decoded = safeDecode(this.options.mergeSlashes ? path.replace(/\/{2,}/g, '/') : path);
    const upper = method.toUpperCase();
    let methodMismatch = false;
    for (const { compiled, route } of this.rules) {
      const m = compiled.regex.exec(decoded);
      if (!m) continue;
      if (!compiled.methods.has(upper)) {
        methodMismatch = true;
        continue;
      }
      const values: RouteValues = {};
      compiled.names.forEach((name, i) => {
        values[name] = compiled.converters[i]!.convert(m[i + 1]!);
      });
      return { ok: true, route, values };
    }
    if (methodMismatch) return { ok: false, status: 405, message: METHOD_NOT_ALLOWED_MESSAGE };
    // werkzeug's strict slashes: `/x/` requested as `/x` is a redirect, which the SDK reports as a failure
    if (!decoded.endsWith('/')) {
      for (const { compiled } of this.rules) {
        if (compiled.regex.test(decoded + '/') && compiled.methods.has(upper)) {
          return { ok: false, status: 308, message: `308 Permanent Redirect: ${path}/` };
        }
      }
    }
    return { ok: false, status: 404, message: NOT_FOUND_MESSAGE };
  }
}

function compareWeights(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function safeDecode(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
