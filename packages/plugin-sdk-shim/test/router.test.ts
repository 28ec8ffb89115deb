import { describe, expect, test } from 'vitest';
import { compileRule, RuleRouter, RuleSyntaxError } from '../src/router.js';

function router(rules: Array<[string, string]>) {
  const r = new RuleRouter<string>();
  for (const [rule, method] of rules) r.add(rule, method, `${method} ${rule}`);
  return r;
}

describe('werkzeug rule router', () => {
  test('<name> and <string:name> match one segment', () => {
    const r = router([['/users/<name>', 'GET'], ['/s/<string:id>', 'GET']]);
    expect(r.match('GET', '/users/bob')).toEqual({ ok: true, route: 'GET /users/<name>', values: { name: 'bob' } });
    expect(r.match('GET', '/s/x1')).toMatchObject({ ok: true, values: { id: 'x1' } });
    expect(r.match('GET', '/users/bob/extra')).toMatchObject({ ok: false, status: 404 });
    expect(r.match('GET', '/users/')).toMatchObject({ ok: false });
  });

  test('<int:name> converts to a number and refuses non-digits', () => {
    const r = router([['/items/<int:id>', 'GET']]);
    expect(r.match('GET', '/items/42')).toMatchObject({ ok: true, values: { id: 42 } });
    expect(r.match('GET', '/items/4x')).toMatchObject({ ok: false, status: 404 });
    expect(r.match('GET', '/items/-1')).toMatchObject({ ok: false });
  });

  test('<path:name> spans slashes', () => {
    const r = router([['/files/<path:rest>', 'GET']]);
    expect(r.match('GET', '/files/a/b/c.txt')).toMatchObject({ ok: true, values: { rest: 'a/b/c.txt' } });
    expect(r.match('GET', '/files/')).toMatchObject({ ok: false });
  });

  test('values are percent-decoded as werkzeug sees them', () => {
    const r = router([['/u/<name>', 'GET']]);
    expect(r.match('GET', '/u/caf%C3%A9')).toMatchObject({ ok: true, values: { name: 'café' } });
  });

  test('a static rule wins over a converter, a converter over a path converter', () => {
    const r = router([['/<path:all>', 'GET'], ['/users/<name>', 'GET'], ['/users/me', 'GET']]);
    expect(r.match('GET', '/users/me')).toMatchObject({ route: 'GET /users/me' });
    expect(r.match('GET', '/users/bob')).toMatchObject({ route: 'GET /users/<name>' });
    expect(r.match('GET', '/other/x')).toMatchObject({ route: 'GET /<path:all>' });
  });

  test('strict slashes: /x/ requested as /x and /x requested as /x/ do not match', () => {
    const r = router([['/x/', 'GET'], ['/y', 'GET']]);
    expect(r.match('GET', '/x/')).toMatchObject({ ok: true });
    expect(r.match('GET', '/x')).toMatchObject({ ok: false, status: 308 });
    expect(r.match('GET', '/y/')).toMatchObject({ ok: false, status: 404 });
  });

  test('GET rules answer HEAD; other methods do not', () => {
    const r = router([['/a', 'GET'], ['/b', 'POST']]);
    expect(r.match('HEAD', '/a')).toMatchObject({ ok: true, route: 'GET /a' });
    expect(r.match('HEAD', '/b')).toMatchObject({ ok: false, status: 405 });
    expect(r.match('GET', '/b')).toMatchObject({ ok: false, status: 405, message: expect.stringContaining('Method Not Allowed') });
  });

  test('mergeSlashes (opt-in) matches doubled slashes; strict by default', () => {
    const strict = router([['/v1/models', 'GET']]);
    expect(strict.match('GET', '//v1/models')).toMatchObject({ ok: false });
    const merging = new RuleRouter<string>({ mergeSlashes: true });
    merging.add('/v1/models', 'GET', 'models');
    expect(merging.match('GET', '//v1//models')).toMatchObject({ ok: true, route: 'models' });
  });

  test('{x} is a literal, as in werkzeug', () => {
    const r = router([['/a/{x}', 'GET']]);
    expect(r.match('GET', '/a/{x}')).toMatchObject({ ok: true });
    expect(r.match('GET', '/a/b')).toMatchObject({ ok: false });
  });

  test('bad rules are refused when compiled', () => {
    expect(() => compileRule('/a/<unknown:x>', 'GET')).toThrow(RuleSyntaxError);
    expect(() => compileRule('no-slash', 'GET')).toThrow(RuleSyntaxError);
    expect(() => compileRule('/a/<x>/<x>', 'GET')).toThrow(RuleSyntaxError);
  });
});
