/**
 * Command names from the server configuration are looked up as own properties only: a job naming
 * `constructor` or `__proto__` must not find an inherited property and pass the configured-commands check.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { standaloneFinetuneAdmin } from '../../src/finetune/server/admin-routes.ts';
import { parseFinetuneConfig } from '../../src/finetune/server/config-file.ts';
import { idleService } from './fixtures.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const spec = { argv: ['python3', 'train.py'], model: 'large', microBatch: 3 };

describe('fine-tuning command names', () => {
  it('refuses configuring a command under an inherited name (constructor, __proto__, toString)', () => {
    for (const text of ['{"commands":{"constructor":@}}', '{"commands":{"__proto__":@}}', '{"commands":{"toString":@}}'])
      expect(() => parseFinetuneConfig(JSON.parse(text.replace('@', JSON.stringify(spec))))).toThrow(/is a reserved name/);
  });

  it('the parsed commands inherit nothing: constructor and __proto__ are not configured commands', () => {
    const { commands } = parseFinetuneConfig({ commands: { cfg: spec } });
    expect(Object.keys(commands)).toEqual(['cfg']);
    expect(commands.constructor).toBeUndefined();
    expect(Reflect.get(commands, '__proto__')).toBeUndefined();
    expect(Object.getPrototypeOf(commands)).toBeNull();
    expect(commands.cfg).toEqual(spec);
  });

  it('a job naming constructor or __proto__ is refused with 400 like any command not configured', async () => {
    const svc = idleService(parseFinetuneConfig({ commands: { cfg: spec } }).commands);
    cleanup.push(() => svc.close());
    const app = Fastify();
    await app.register(standaloneFinetuneAdmin({ service: svc, token: 'the-right-token' }), { prefix: '/v1' });
    cleanup.push(() => app.close());
    const headers = { authorization: 'Bearer the-right-token' };
    for (const command of ['constructor', '__proto__', 'hasOwnProperty']) {
      const r = await app.inject({ method: 'POST', url: '/v1/finetune/jobs', headers, payload: { kind: 'command', command, model: 'large', microBatch: 3 } });
      expect(r.statusCode, command).toBe(400);
      expect(r.json().error).toMatch(new RegExp(`no command named '${command}'`));
    }
    const ok = await app.inject({ method: 'POST', url: '/v1/finetune/jobs', headers, payload: { kind: 'command', command: 'cfg' } });
    expect(ok.statusCode).toBe(201);
  });
});
