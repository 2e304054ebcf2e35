import { describe, expect, it } from 'vitest';
import { hasControl, visible, visibleJson, visibleLine } from '../src/core/visible.js';
import { visibleUi } from '../src/core/visible-ui.js';
import type { Ui, VarQuestion } from '../src/core/ports.js';

describe('visible', () => {
  it.each([
    ['ESC as \\e', '\u001b]0;title\u0007', '\\e]0;title^G'],
    ['CSI clear', 'a\u001b[2Jb', 'a\\e[2Jb'],
    ['newline and tab kept', 'a\n\tb', 'a\n\tb'],
    ['CR and backspace in caret notation', 'x\r\by', 'x^M^Hy'],
    ['NUL and DEL', '\u0000\u007f', '^@^?'],
    ['C1 CSI and OSC', '\u009b2J\u009d0;t\u009c', '\\x9b2J\\x9d0;t\\x9c'],
    ['bidi override, isolate and mark', 'a\u202eb\u2066c\u2069\u200f', 'a\\u202eb\\u2066c\\u2069\\u200f'],
    ['plain and non-ASCII text unchanged', 'déjà vu — ✓', 'déjà vu — ✓'],
  ])('%s', (_name, input, expected) => {
    expect(visible(input)).toBe(expected);
    expect(hasControl(input)).toBe(input !== expected);
  });
});

describe('visibleLine', () => {
  it('keeps a title on one line: a line break as ^J, but not the one a YAML block ends with', () => {
    expect(visibleLine('Check\n$ echo x')).toBe('Check^J$ echo x');
    expect(visibleLine('Folded title\n')).toBe('Folded title');
    expect(visibleLine('a\u001b[2J\tb')).toBe('a\\e[2J\tb');
  });
});

describe('visibleJson', () => {
  it('escapes DEL, C1 and bidi controls as JSON escapes: the same data, nothing raw', () => {
    const data = { t: 'a\u009b2J\u202e\u007f\u001b]0;x\u0007' };
    const json = visibleJson(JSON.stringify(data));
    expect(json).toBe('{"t":"a\\u009b2J\\u202e\\u007f\\u001b]0;x\\u0007"}');
    expect(JSON.parse(json)).toEqual(data);
  });
});

describe('visibleUi', () => {
  it('shows a choice and a default as text, and hands back the real value', async () => {
    let seen: VarQuestion | undefined;
    const inner = {
      askVar: async (q: VarQuestion) => {
        seen = q;
        return q.initial!;
      },
      askText: async (_m: string, initial?: string) => initial ?? '',
    } as unknown as Ui;
    const ui = visibleUi(inner);
    const validated: string[] = [];
    const answer = await ui.askVar({
      name: 'v',
      def: { prompt: 'Pick \u001b[2J', choices: { 'a\u001b': 'A \u001b]0;x\u0007' } },
      initial: 'a\u001b',
      validate: (value) => {
        validated.push(value);
        return undefined;
      },
    });
    expect(seen!.def.prompt).toBe('Pick \\e[2J');
    expect(seen!.def.choices).toEqual({ 'a\\e': 'A \\e]0;x^G' });
    expect(seen!.initial).toBe('a\\e');
    seen!.validate('a\\e');
    expect(validated).toEqual(['a\u001b']);
    expect(answer).toBe('a\u001b');
    // An edit left as shown is the command itself, not its visible form.
    expect(await ui.askText('Edit', 'echo \u001b[2J')).toBe('echo \u001b[2J');
  });
});
