import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSandbox, runCli, STACK_TRACE, type Sandbox } from './helpers/run-cli.js';

let box: Sandbox | undefined;
afterEach(() => box?.cleanup());

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('resume while another drbook drives the session', () => {
  it('says which session is being driven, rather than that none matches', async () => {
    box = makeSandbox();
    const stop = join(box.cwd, 'stop');
    const started = join(box.cwd, 'started');
    writeFileSync(
      join(box.dir, 'busy.yml'),
      [
        'drbook: 1',
        'id: busy',
        'title: A step that waits',
        'steps:',
        '  - id: wait',
        '    title: Wait',
        `    run: touch '${started}'; while [ ! -e '${stop}' ]; do sleep 0.05; done`,
        '',
      ].join('\n'),
    );
    const env = { HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir };
    const run = runCli(['run', 'busy', '--yes'], { cwd: box.cwd, env, timeoutMs: 30_000 });
    await until('the step to run', () => existsSync(started));
    const sessions = readdirSync(join(box.home, 'sessions')).filter((f) => f.endsWith('.jsonl'));
    expect(sessions).toHaveLength(1);
    const id = sessions[0]!.replace(/\.jsonl$/, '');

    const second = await runCli(['resume', '--yes'], { cwd: box.cwd, env });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`${id} is being driven right now by another drbook`);
    expect(second.stderr).not.toMatch(STACK_TRACE);

    writeFileSync(stop, '');
    expect((await run).code).toBe(0);
  });
});
