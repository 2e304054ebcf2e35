/**
 * Terminal hygiene. Text that came from a runbook, a journal or a captured value is shown
 * by drbook's own lines (headers, descriptions, the rendered command, lists, warnings):
 * a control character in it would reach the terminal as a command of the terminal
 * (`\e]0;…\a` retitles it, `\e[2J` clears it, `\r` and `\e[K` hide what the command
 * really is). Every such string passes through `visible` at the output boundary: C0
 * controls (except newline and tab), DEL and C1 controls are written as visible text.
 * Command output is not: it streams raw, as in a shell.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function visible(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** `\e` for ESC, caret notation (`^G`, `^M`, `^?`) for the other C0 controls and DEL, `\x9b` for C1. */
function escapeControl(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 0x1b) return '\\e';
  if (code < 0x20) return '^' + String.fromCharCode(code + 0x40);
  if (code === 0x7f) return '^?';
  return '\\x' + code.toString(16);
}

/** Whether `text` holds a control character that `visible` would rewrite. */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  const found = CONTROL.test(text);
  CONTROL.lastIndex = 0;
  return found;
}
