/**
 * Terminal hygiene. Text that came from a runbook, a journal or a captured value is shown
 * by drbook's own lines (headers, descriptions, the rendered command, lists, warnings):
 * a control character in it would reach the terminal as a command of the terminal
 * (`\e]0;…\a` retitles it, `\e[2J` clears it, `\r` and `\e[K` hide what the command
 * really is). Every such string passes through `visible` at the output boundary: C0
 * controls (except newline and tab), DEL and C1 controls are written as visible text.
 * Command output is not: it streams raw, as in a shell.
 *
 * The bidi controls (embeddings, overrides, isolates and marks) are made visible too: they
 * do not command the terminal, but they reorder what it shows, so a command or a title can
 * read differently from what it is (the "Trojan Source" trick).
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function visible(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/**
 * `\e` for ESC, caret notation (`^G`, `^M`, `^?`) for the other C0 controls and DEL, `\x9b`
 * for C1, `\u202e` for a bidi control.
 */
function escapeControl(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 0x1b) return '\\e';
  if (code < 0x20) return '^' + String.fromCharCode(code + 0x40);
  if (code === 0x7f) return '^?';
  if (code <= 0x9f) return '\\x' + code.toString(16);
  return '\\u' + code.toString(16).padStart(4, '0');
}

/**
 * For text that must stay on one line (a title, a table cell): `visible`, and a line break
 * as `^J`. A step title holding `\n\nCommand:\n$ echo harmless` would otherwise print a
 * fake command block above the real one; a runbook title, a fake row in `list`.
 */
export function visibleLine(text: string): string {
  // The line break a YAML block scalar (`title: >`) ends with is not a second line.
  return visible(text.replace(/\n+$/, '')).replace(/\n/g, '^J');
}

/**
 * JSON for a terminal: every character `visible` rewrites, written as a JSON `\uXXXX`
 * escape. JSON.stringify escapes C0 already, but leaves DEL, C1 and the bidi controls raw.
 * The data is unchanged (a parser reads the same strings): only what reaches the terminal
 * differs. Valid on JSON text only, where these characters can only stand inside strings.
 */
export function visibleJson(json: string): string {
  return json.replace(CONTROL, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Whether `text` holds a control character that `visible` would rewrite. */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  const found = CONTROL.test(text);
  CONTROL.lastIndex = 0;
  return found;
}
