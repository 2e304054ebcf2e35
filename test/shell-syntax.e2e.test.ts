/**
 * The syntax check of commands without placeholders hands each one to real bash: it must
 * find the errors and run nothing, even a command written to break out of a wrapper.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellSyntaxFinders } from '../src/adapters/shell-syntax.js';

describe('the bash syntax check of commands', () => {
  it('runs nothing of a command that closes a brace itself, and reports it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drbook-syntax-'));
    process.env.DRBOOK_HOME = join(dir, 'home');
    const marker = join(dir, 'ran');
    const texts = [
      `true\n}; touch ${marker}; f() {\ntrue`,
      `true\n}\ntouch ${marker}\nf() {\ntrue`,
      'if true; then\n echo ok\nfi fi',
      'echo fine',
      'cat <<EOF\nleft open',
    ].map((text) => ({ text, dialect: 'bash' as const }));
    const [find] = shellSyntaxFinders([{ sha256: `${Date.now()}-${process.pid}`, texts }]);
    expect(existsSync(marker)).toBe(false);
    expect(find!(texts[0]!.text, 'bash')).toMatchObject({ line: 2, message: expect.stringContaining("unexpected token `}'") });
    expect(find!(texts[1]!.text, 'bash')).toMatchObject({ line: 2 });
    expect(find!(texts[2]!.text, 'bash')).toMatchObject({ line: 3, message: expect.stringContaining("unexpected token `fi'") });
    expect(find!(texts[3]!.text, 'bash')).toBeUndefined();
    expect(find!(texts[4]!.text, 'bash')).toBeUndefined();
  });
});
