export const MASK = '***';

/**
 * Replaces secret values with *** in anything shown or written. Values are matched
 * literally, longest first, so a secret that contains another is masked whole.
 */
export class Redactor {
  private secrets: string[] = [];

  add(value: string): void {
    // Even a one-character secret is masked: the contract is that no secret reaches the
    // disk or the screen, and a noisy log is a smaller harm than a leaked value.
    if (value.length === 0 || this.secrets.includes(value)) return;
    this.secrets.push(value);
    this.secrets.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.length;
  }

  redact(text: string): string {
    if (this.secrets.length === 0 || text === '') return text;
    const spans = this.spans(text);
    if (spans.length === 0) return text;
    let out = '';
    let at = 0;
    for (const [start, end] of spans) {
      out += text.slice(at, start) + MASK;
      at = end;
    }
    return out + text.slice(at);
  }

  /**
   * Every occurrence of every secret in the raw text, overlapping ones merged, in order.
   * Replacing one secret at a time would let the first replacement break up a second
   * secret that overlaps it (`abcd` and `cdef` in `abcdef` left `ef` in clear): masking the
   * merged span hides all of both.
   * @internal
   */
  spans(text: string): [number, number][] {
    const found: [number, number][] = [];
    for (const secret of this.secrets) {
      for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + 1)) found.push([i, i + secret.length]);
    }
    found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const merged: [number, number][] = [];
    for (const [start, end] of found) {
      const last = merged[merged.length - 1];
      if (last && start < last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    return merged;
  }

  /**
   * A redactor for a stream of chunks: a secret split across two chunks is still masked.
   * It holds back only the end of a chunk that could start a secret (and a secret that
   * reaches into that end), so a prompt such as `Password: ` is shown at once.
   */
  stream(): StreamRedactor {
    return new StreamRedactor(this);
  }

  /** @internal */
  longestPrefixSuffix(text: string): number {
    let hold = 0;
    for (const secret of this.secrets) {
      const max = Math.min(secret.length - 1, text.length);
      for (let n = max; n > hold; n--) {
        if (text.endsWith(secret.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }
}

export class StreamRedactor {
  private pending = '';
  constructor(private readonly redactor: Redactor) {}

  /**
   * Returns the text that can be released now. What is held back stays raw: held as
   * redacted text, a secret already masked could no longer be seen to overlap a secret
   * completed by the next chunk, which then showed in part.
   */
  push(chunk: string): string {
    if (this.redactor.size === 0) return chunk;
    const text = this.pending + chunk;
    let cut = text.length - this.redactor.longestPrefixSuffix(text);
    // A masked span across the cut is held whole: released in two parts, each part would
    // be too short to match and the held half would show.
    for (const [start, end] of this.redactor.spans(text)) {
      if (start < cut && cut < end) cut = start;
    }
    this.pending = text.slice(cut);
    return this.redactor.redact(text.slice(0, cut));
  }

  /** The rest, at the end of the stream. */
  flush(): string {
    const rest = this.redactor.redact(this.pending);
    this.pending = '';
    return rest;
  }
}
