import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromYaml } from '../../src/standalone/config.js';
import { createStandaloneServer, type StandaloneServer } from '../../src/standalone/server.js';
import { startFakeDifyServiceApi, type FakeDifyServiceApi } from '../fakes/dify-service-api.js';
import { tempDir } from './helpers.js';

let fake: FakeDifyServiceApi;
let server: StandaloneServer;
const dir = tempDir();

beforeAll(async () => {
  fake = await startFakeDifyServiceApi({
    apps: [
      { key: 'app-yamlSupport00000000000001', name: 'Support', mode: 'chat' },
      { key: 'app-yamlDigest000000000000002', name: 'Digest', mode: 'workflow' },
    ],
  });
  const file = join(dir, 'bridge.yaml');
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: 0 }
dify: { base: "${fake.baseUrl}" }
store: { sqlite_file: "${join(dir, 'db.sqlite')}" }
apps:
  support: { key: "\${SUPPORT_KEY}", model: helpdesk }
  digest: { key: app-yamlDigest000000000000002 }
endpoints:
  - name: openai
    group: chat-app
    apps: [support, digest]
    settings: { api_key: sk-yaml }
  - name: support-page
    group: webapp-skin
    prefix: /chat/support
    app: support
    settings: { bot_name: Helper }
  - name: digest-hook
    group: webhook
    prefix: /hooks/digest
    app: digest
    settings: { verification: bearer, secret: hook-secret-1, payload_input: query, response_mode: sync }
`,
  );
  const config = configFromYaml(file, { SUPPORT_KEY: 'app-yamlSupport00000000000001' });
  server = await createStandaloneServer({ config, log: pino({ level: process.env.TEST_LOG ?? 'silent' }) });
  await server.listen();
});
afterAll(async () => {
  await server?.close(1000);
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('YAML-declared endpoints', () => {
  it('serves the OpenAI API over the declared apps, with a configured model name', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-yaml', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id).sort()).toEqual(['Digest', 'helpdesk']);
    const answer = await client.chat.completions.create({ model: 'helpdesk', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: hi');
  });

  it('serves a chat page per app under its prefix', async () => {
    for (const path of ['/chat/support/', '/chat/support']) {
      const page = await fetch(`${server.url}${path}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
    }
    const config = await fetch(`${server.url}/chat/support/api/config`);
    expect(config.status).toBe(200);
    expect(JSON.stringify(await config.json())).toContain('Helper');
  });

  it('runs the workflow for a verified webhook delivery and refuses an unverified one', async () => {
    const payload = { action: 'approved', article: { id: 7 } };
    const refused = await fetch(`${server.url}/hooks/digest/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    expect(refused.status, await refused.clone().text()).toBe(401);
    expect(fake.requests.filter((r) => r.path === '/v1/workflows/run')).toHaveLength(0);
    const accepted = await fetch(`${server.url}/hooks/digest/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer hook-secret-1' }, body: JSON.stringify(payload) });
    expect(accepted.status).toBe(200);
    const runs = fake.requests.filter((r) => r.path === '/v1/workflows/run');
    expect(runs).toHaveLength(1);
    expect(runs[0]!.appName).toBe('Digest');
    expect(JSON.parse(String((runs[0]!.body!.inputs as { query: string }).query))).toEqual(payload);
  });

  it('does not serve the page at / when no endpoint declares it there', async () => {
    const root = await fetch(`${server.url}/`);
    expect(root.status).toBe(404);
    expect(await root.json()).toMatchObject({ error: { code: 'unknown_url' } });
  });
});
