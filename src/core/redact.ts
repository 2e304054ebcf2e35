export const MASK = '***';

/** Secrets shorter than this are refused unless --allow-short-secret: they would mask every common word. */
export const MIN_SECRET_LENGTH = 6;

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/**
 * Replaces secret values with *** in anything shown or written. Values are matched
 * literally, longest first, so a secret that contains another is masked whole.
 */
export class Redactor {
  private secrets: string[] = [];
  /** Short secrets the operator insisted on (--allow-short-secret): masked only as whole words. */
  private readonly wholeWords = new Set<string>();

  /**
   * A secret shorter than MIN_SECRET_LENGTH is masked only where it stands as a whole word:
   * masked everywhere, `x` would turn every `exit` into `e***it`.
   */
  add(value: string): void {
    if (value.length === 0 || this.secrets.includes(value)) return;
    if (value.length < MIN_SECRET_LENGTH) this.wholeWords.add(value);
    this.secrets.push(value);
    this.secrets.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.length;
  }

  redact(text: string): string {
    if (this.secrets.length === 0 || text === '') return text;
    const spans = this.spans(text);
    return spans.length === 0 ? text : masked(text, spans);
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
      const whole = this.wholeWords.has(secret);
      for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + 1)) {
        const end = i + secret.length;
        if (whole && ((i > 0 && WORD_CHAR.test(text[i - 1]!)) || (end < text.length && WORD_CHAR.test(text[end]!)))) continue;
        found.push([i, end]);
      }
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
      // A whole-word secret at the very end is held whole too: the next chunk says whether a
      // letter follows it.
      const max = Math.min(this.wholeWords.has(secret) ? secret.length : secret.length - 1, text.length);
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
  /** The last character released: whether a short secret stands as a whole word depends on it. */
  private before = '';
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
    const spans = this.spansIn(text);
    // A masked span across the cut is held whole: released in two parts, each part would
    // be too short to match and the held half would show.
    for (const [start, end] of spans) {
      if (start < cut && cut < end) cut = start;
    }
    this.pending = text.slice(cut);
    if (cut > 0) this.before = text[cut - 1]!;
    return masked(
      text.slice(0, cut),
      spans.filter(([, end]) => end <= cut),
    );
  }

  /** The rest, at the end of the stream. */
  flush(): string {
    const rest = masked(this.pending, this.spansIn(this.pending));
    this.pending = '';
    this.before = '';
    return rest;
  }

  /** Spans of `text`, judged with the character released before it. */
  private spansIn(text: string): [number, number][] {
    const off = this.before.length;
    return this.redactor
      .spans(this.before + text)
      .map(([start, end]): [number, number] => [start - off, end - off])
      .filter(([start]) => start >= 0);
  }
}

function masked(text: string, spans: readonly [number, number][]): string {
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + MASK;
    at = end;
  }
  return out + text.slice(at);
}
