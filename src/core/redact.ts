export const MASK = '***';

/**
 * Replaces secret values with *** in anything shown or written. Values are matched
 * literally, longest first, so a secret that contains another is masked whole.
 */
export class Redactor {
  private secrets: string[] = [];

  add(value: string): void {
    // Very short values would mask half of every output line and protect nothing.
    if (value.length < 3 || this.secrets.includes(value)) return;
    this.secrets.push(value);
    this.secrets.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.length;
  }

  redact(text: string): string {
    if (this.secrets.length === 0 || text === '') return text;
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out;
  }

  /**
   * A redactor for a stream of chunks: a secret split across two chunks is still masked.
   * It holds back only the shortest end of a chunk that could start a secret, so a
   * prompt such as `Password: ` is shown at once.
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

  /** Returns the text that can be released now. */
  push(chunk: string): string {
    if (this.redactor.size === 0) return chunk;
    const text = this.redactor.redact(this.pending + chunk);
    const hold = this.redactor.longestPrefixSuffix(text);
    this.pending = text.slice(text.length - hold);
    return text.slice(0, text.length - hold);
  }

  /** The rest, at the end of the stream. */
  flush(): string {
    const rest = this.redactor.redact(this.pending);
    this.pending = '';
    return rest;
  }
}
