/**
 * Keys typed while a command ran (an impatient Enter, a `y` meant for the command) sit in
 * the terminal's input queue. Left there, they would answer the next prompt: a tired
 * operator could run or skip a step without ever seeing the question. So before every
 * prompt we read and throw away whatever is already waiting.
 */

/** The part of a terminal input stream this module needs; `process.stdin` fits. */
export interface TypeAheadInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

export interface DiscardOptions {
  /** The input counts as drained once no byte has arrived for this long. */
  quietMs?: number;
  /** Stop draining after this long even if bytes keep coming (a key held down). */
  maxMs?: number;
  /** Keep what was drained, in `text` (the rest of a paste). */
  keep?: boolean;
}

export interface DiscardResult {
  /** How many bytes were thrown away. */
  discarded: number;
  /**
   * A Ctrl-C byte was among them. In cooked mode the terminal turns Ctrl-C into SIGINT
   * and never queues it, so a queued one was pressed during the drain itself, at the
   * prompt: the caller treats it as Ctrl-C at the prompt rather than losing it.
   */
  interrupted: boolean;
  /** What was drained, with `keep` (latin1 for bytes that are not UTF-8 text). */
  text?: string;
}

const CTRL_C = 0x03;

/**
 * Drains input that is already waiting, then leaves the stream paused and in the mode it
 * was found in. Does nothing (and reads nothing) when the input is not a terminal: piped
 * input is data the caller meant to send, and reading a pipe that stays open would hang.
 */
export async function discardTypeAhead(input: TypeAheadInput, options: DiscardOptions = {}): Promise<DiscardResult> {
  const result: DiscardResult = { discarded: 0, interrupted: false };
  if (input.isTTY !== true || typeof input.setRawMode !== 'function') return result;
  const quietMs = options.quietMs ?? 30;
  const maxMs = options.maxMs ?? 500;
  const wasRaw = input.isRaw === true;
  const kept: Buffer[] = [];

  // Raw mode makes a half-typed line readable now (in cooked mode the kernel holds it
  // until Enter) and stops the kernel from echoing what we are throwing away.
  input.setRawMode(true);
  await new Promise<void>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (quiet) clearTimeout(quiet);
      clearTimeout(deadline);
      input.removeListener('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      result.discarded += bytes.length;
      if (options.keep === true) kept.push(bytes);
      if (bytes.includes(CTRL_C)) result.interrupted = true;
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(finish, quietMs);
    };
    const deadline = setTimeout(finish, maxMs);
    quiet = setTimeout(finish, quietMs);
    input.on('data', onData);
    input.resume();
  });
  input.setRawMode(wasRaw);
  // Paused, process.stdin stops reading the terminal, so a command started next gets
  // the keyboard to itself.
  input.pause();
  if (options.keep === true) result.text = Buffer.concat(kept).toString('utf8');
  return result;
}
