import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FinetuneAdminClient } from '../../src/finetune/server/admin-client.ts';
import { loadFinetuneConfig, parseFinetuneConfig } from '../../src/finetune/server/config-file.ts';
import { standaloneFinetuneAdmin } from '../../src/finetune/server/admin-routes.ts';
import { idleService } from './fixtures.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('fine-tuning configuration file', () => {
  it('accepts commands and refuses anything else', () => {
    const c = parseFinetuneConfig({ db: 'ft.db', commands: { 'lora-1': { argv: ['python3', 'train.py'], model: 'efficientnet-b0', microBatch: 8 } } });
    expect(c.commands['lora-1']!.argv).toEqual(['python3', 'train.py']);
    expect(() => parseFinetuneConfig({ commands: { x: { argv: [], model: 'm', microBatch: 1 } } })).toThrow(/commands\.x\.argv/);
    expect(() => parseFinetuneConfig({ commands: { 'bad name': { argv: ['a'], model: 'm', microBatch: 1 } } })).toThrow(
      /command name 'bad name' may hold only/,
    );
    expect(() => parseFinetuneConfig({ shell: 'rm -rf /' })).toThrow(/fine-tuning configuration/);
    const dir = mkdtempSync(join(tmpdir(), 'pt-ftc-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(() => loadFinetuneConfig(join(dir, 'bad.json'))).toThrow(/is not JSON/);
    expect(() => loadFinetuneConfig(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });
});

describe('FinetuneAdminClient (what the CLI uses)', () => {
  it('submits, lists and cancels over HTTP and reports a wrong token clearly', async () => {
    const svc = idleService();
    const app = Fastify();
    await app.register(standaloneFinetuneAdmin({ service: svc, token: 'the-right-token' }), { prefix: '/v1' });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => app.close());
    const c = new FinetuneAdminClient({ url, token: 'the-right-token' });
    const { job } = await c.submit({ kind: 'gate', model: 'large', microBatch: 8 });
    expect(job.state).toBe('queued');
    expect((await c.list()).jobs.map((j) => j.id)).toEqual([job.id]);
    expect((await c.cancel(job.id)).job.state).toBe('cancelled');
    await expect(c.cancel('nope')).rejects.toThrow(/no (fine-tuning )?job nope/);
    await expect(new FinetuneAdminClient({ url, token: 'wrong-token-xx' }).list()).rejects.toMatchObject({ code: 'PERMISSION' });
    await expect(c.submit({ kind: 'sim', model: 'small' })).rejects.toThrow(/simulated device|number of steps/);
    expect(() => new FinetuneAdminClient({ url: 'not a url', token: 'x' })).toThrow(/not a URL/);
  });
});
