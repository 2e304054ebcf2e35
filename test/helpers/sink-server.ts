/**
 * A real HTTP server on 127.0.0.1 standing in for a notification sink: it records every
 * request (method, path, headers, raw body) and answers as the test says: a status with
 * headers, `hold` (never answer), or `drop` (close the connection: the sink is down).
 * Waits are for a condition with a deadline, never a sleep.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { makeSandbox, type Sandbox } from './run-cli.js';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status answered, `held` while it waits, `dropped`, or `gone` if the client left first. */
  outcome: number | 'held' | 'dropped' | 'gone';
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hold' | 'drop';

export interface SinkServer {
  url: string;
  requests: Received[];
  /** Answers each request; the default answers 200 `{}`. */
  answer: (request: Received, index: number) => Answer;
  waitFor(what: string, condition: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSinkServer(answer?: SinkServer['answer']): Promise<SinkServer> {
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        outcome: 'held',
        at: Date.now(),
      };
      const index = sink.requests.length;
      sink.requests.push(received);
      const a = sink.answer(received, index);
      if (a === 'drop') {
        received.outcome = 'dropped';
        req.socket.destroy();
        return;
      }
      if (a === 'hold') {
        held.add(res);
        res.on('close', () => {
          if (received.outcome === 'held') received.outcome = 'gone';
          held.delete(res);
        });
        return;
      }
      received.outcome = a.status;
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
      res.end(a.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sink: SinkServer = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    answer: answer ?? (() => ({ status: 200 })),
    async waitFor(what, condition, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; requests: ${JSON.stringify(sink.requests.map((r) => [r.method, r.path, r.outcome]))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return sink;
}

/**
 * Sink servers and sandboxes for one test file, closed and removed after each test.
 * Registers its own afterEach: call it at the top level of the file.
 */
export function sinkFixtures(): { server: (answer?: SinkServer['answer']) => Promise<SinkServer>; sandbox: () => Sandbox } {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  return {
    server: async (answer) => {
      const s = await startSinkServer(answer);
      cleanups.push(() => s.close());
      return s;
    },
    sandbox: () => {
      const s = makeSandbox();
      cleanups.push(() => s.cleanup());
      return s;
    },
  };
}
