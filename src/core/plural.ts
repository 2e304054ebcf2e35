/** `1 step`, `2 steps`: for the English of counts in messages and reports. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
