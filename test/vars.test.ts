import { describe, expect, it } from 'vitest';
import { DrbookError, ExitCode } from '../src/core/errors.js';
import { formatProblem, type Runbook, type VarDef } from '../src/core/model.js';
import { MASK, Redactor } from '../src/core/redact.js';
import { sitesOf } from './helpers/shell.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { checkVarValue, parseVarAssignments, resolveInitialVars, VarStore, varsNobodyCanAnswer, type VarInputs } from '../src/core/vars.js';

const RUNBOOK = `
drbook: 1
id: mail-server
title: Restore the mail server
vars:
  new_ip: { prompt: New IP, pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$' }
  mail_host: { default: mail.example.org, env: MAIL_HOST }
  dns_token: { env: DNS_API_TOKEN, secret: true, pattern: '^tok-' }
  dns_plan: { choices: { reuse: Keep the name, rename: New name } }
steps:
  - id: s
    title: 'Use {{new_ip}} {{mail_host}} {{dns_token}}'
    ask: [dns_plan]
`;

function runbook(): Runbook {
  const { runbook, problems } = loadRunbookText(RUNBOOK, {
    file: 'm.yaml',
    absFile: '/r/m.yaml',
    sha256: '0'.repeat(64),
    fileExists: () => true,
    shellSites: sitesOf,
  });
  if (!runbook) throw new Error(problems.map(formatProblem).join('\n'));
  return runbook;
}

function resolve(inputs: Partial<VarInputs>): VarStore {
  const rb = runbook();
  const store = new VarStore(rb.vars, new Redactor());
  resolveInitialVars(rb, { cli: {}, file: {}, env: {}, ...inputs }, store);
  return store;
}

/** The DrbookError a call throws (the test fails if it throws nothing else). */
function errorOf(fn: () => unknown): DrbookError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DrbookError) return error;
    throw error;
  }
  throw new Error('expected a DrbookError, nothing was thrown');
}

describe('resolveInitialVars: --var > --vars-file > env > (asked or default later)', () => {
  it.each([
    ['--var wins over all', { cli: { mail_host: 'a.example' }, file: { mail_host: 'b.example' }, env: { MAIL_HOST: 'c.example' } }, 'a.example', 'cli'],
    ['--vars-file wins over env', { file: { mail_host: 'b.example' }, env: { MAIL_HOST: 'c.example' } }, 'b.example', 'vars-file'],
    ['env when nothing else gives it', { env: { MAIL_HOST: 'c.example' } }, 'c.example', 'env'],
    ['an empty env var counts as unset', { env: { MAIL_HOST: '' } }, undefined, undefined],
    ['nothing: left for the walk (asked, or the default)', {}, undefined, undefined],
  ] as const)('%s', (_name, inputs, value, source) => {
    const store = resolve(inputs);
    expect(store.get('mail_host')).toBe(value);
    expect(store.entry('mail_host')?.source).toBe(source);
  });

  it('only resolves vars given somewhere: the others stay for the walk', () => {
    const store = resolve({ cli: { new_ip: '10.0.0.1' } });
    expect(store.names()).toEqual(['new_ip']);
    expect(store.has('dns_plan')).toBe(false);
  });

  it('an unknown --var name is a usage error naming the declared vars', () => {
    const error = errorOf(() => resolve({ cli: { new_ipp: '10.0.0.1' } }));
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('--var new_ipp: mail-server declares no var "new_ipp" (it declares: new_ip, mail_host, dns_token, dns_plan)');
  });

  it('an unknown name in --vars-file is a usage error too', () => {
    const error = errorOf(() => resolve({ file: { nope: 'x' } }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^--vars-file nope: mail-server declares no var "nope"/);
  });

  it('a runbook with no vars says so without an empty list', () => {
    const rb = { ...runbook(), vars: {} };
    const error = errorOf(() => resolveInitialVars(rb, { cli: { x: '1' }, file: {}, env: {} }, new VarStore({}, new Redactor())));
    expect(error.message).toBe('--var x: mail-server declares no var "x"');
  });

  it.each([
    ['--var breaking its pattern', { cli: { new_ip: '10.0.0' } }, '--var new_ip: new_ip must match ^\\d{1,3}(\\.\\d{1,3}){3}$ (got "10.0.0")'],
    ['--var not among the choices', { cli: { dns_plan: 'both' } }, '--var dns_plan: dns_plan must be one of: reuse, rename (got "both")'],
    ['--vars-file breaking its pattern', { file: { new_ip: 'x' } }, '--vars-file: new_ip must match ^\\d{1,3}(\\.\\d{1,3}){3}$ (got "x")'],
    ['env breaking its pattern, a secret: the value is not repeated', { env: { DNS_API_TOKEN: 'leaked-value' } }, '$DNS_API_TOKEN: dns_token must match ^tok-'],
    ['an empty --var for a var with no default', { cli: { new_ip: '' } }, '--var new_ip: new_ip must match ^\\d{1,3}(\\.\\d{1,3}){3}$ (got "")'],
  ] as const)('%s is a usage error', (_name, inputs, message) => {
    const error = errorOf(() => resolve(inputs));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(message);
  });

  it('a secret is marked secret and handed to the redactor at once', () => {
    const rb = runbook();
    const redactor = new Redactor();
    const store = new VarStore(rb.vars, redactor);
    resolveInitialVars(rb, { cli: {}, file: {}, env: { DNS_API_TOKEN: 'tok-123456' } }, store);
    expect(store.entry('dns_token')).toEqual({ value: 'tok-123456', source: 'env', secret: true });
    expect(store.shown('dns_token')).toBe(MASK);
    expect(redactor.redact('Bearer tok-123456')).toBe(`Bearer ${MASK}`);
  });
});

describe('parseVarAssignments', () => {
  it('splits at the first =, so values may hold =', () => {
    expect(parseVarAssignments(['a=1', 'b=x=y', 'c=', 'a=2'])).toEqual({ a: '2', b: 'x=y', c: '' });
  });

  it.each(['novalue', '=value'])('%s is a usage error', (pair) => {
    const error = errorOf(() => parseVarAssignments([pair]));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`--var ${pair}: expected name=value`);
  });
});

describe('checkVarValue', () => {
  const ip: VarDef = { pattern: '^\\d+\\.\\d+$' };
  it.each([
    ['no def: anything goes', undefined, 'x', undefined],
    ['pattern met', ip, '1.2', undefined],
    ['pattern broken', ip, '1.x', 'v must match ^\\d+\\.\\d+$'],
    ['pattern is a search unless anchored', { pattern: 'ok' }, 'not ok at all', undefined],
    ['choices as a list', { choices: ['a', 1] }, '1', undefined],
    ['not among list choices', { choices: ['a', 1] }, 'b', 'v must be one of: a, 1'],
    ['choices as a map: its keys', { choices: { reuse: 'Keep' } }, 'Keep', 'v must be one of: reuse'],
    ['empty with no default', {}, '', 'v needs a value'],
    ['empty with a default (the default stands in)', { default: 'd' }, '', undefined],
    ['a pattern that does not compile does not block the operator', { pattern: '([' }, 'x', undefined],
  ] as const)('%s', (_name, def, value, expected) => {
    expect(checkVarValue('v', def as VarDef | undefined, value)).toBe(expected);
  });
});

describe('VarStore', () => {
  it('a secret is masked in its raw and its shell-quoted form', () => {
    const redactor = new Redactor();
    const store = new VarStore({ pw: { secret: true } }, redactor);
    store.set('pw', "it's secret", 'prompt');
    expect(redactor.redact(`login 'it'\\''s secret' and it's secret`)).toBe(`login ${MASK} and ${MASK}`);
  });

  it('shows a non-secret value that holds a secret redacted, and an unset var as empty', () => {
    const redactor = new Redactor();
    const store = new VarStore({ pw: { secret: true }, url: {} }, redactor);
    store.set('pw', 'hunter22', 'cli');
    store.set('url', 'https://u:hunter22@host', 'cli');
    expect(store.shown('url')).toBe(`https://u:${MASK}@host`);
    expect(store.shown('nope')).toBe('');
  });

  it('a value may be made secret by the caller (a capture derived from a secret)', () => {
    const redactor = new Redactor();
    const store = new VarStore({}, redactor);
    expect(store.set('derived', 'abc-123', 'capture', true)).toEqual({ value: 'abc-123', source: 'capture', secret: true });
    expect(store.shown('derived')).toBe(MASK);
    expect(redactor.redact('x abc-123')).toBe(`x ${MASK}`);
  });
});

describe('varsNobodyCanAnswer: what run --yes would have to ask', () => {
  it('names the used vars with no value and no default', () => {
    expect(varsNobodyCanAnswer(runbook(), resolve({}))).toEqual(['new_ip', 'dns_token', 'dns_plan']);
  });

  it('is empty once --var and env give them', () => {
    const store = resolve({ cli: { new_ip: '10.0.0.1', dns_plan: 'reuse' }, env: { DNS_API_TOKEN: 'tok-123456' } });
    expect(varsNobodyCanAnswer(runbook(), store)).toEqual([]);
  });
});

describe('varsNobodyCanAnswer and steps a false `when` will skip', () => {
  const text = (triggerDefault: string, captured: boolean) => `
drbook: 1
title: Drill or outage
vars:
  trigger: { choices: [outage, drill]${triggerDefault ? `, default: ${triggerDefault}` : ''} }
  token: { secret: true, env: API_TOKEN }
steps:
  - id: detect
    title: Detect
    run: echo drill
    capture: seen
  - id: drill-only
    title: Call the drill API
    when: ${captured ? 'seen' : 'trigger'} == drill
    run: curl -H {{token}} https://drill.example
`;
  const check = (yaml: string, cli: Record<string, string> = {}) => {
    const { runbook, problems } = loadRunbookText(yaml, {
      file: 'd.yml',
      absFile: '/r/d.yml',
      sha256: '0'.repeat(64),
      fileExists: () => true,
      shellSites: sitesOf,
    });
    if (!runbook) throw new Error(problems.map(formatProblem).join('\n'));
    const store = new VarStore(runbook.vars, new Redactor());
    resolveInitialVars(runbook, { cli, file: {}, env: {} }, store);
    return varsNobodyCanAnswer(runbook, store);
  };

  it('does not need what only a step skipped by its default or given value uses', () => {
    expect(check(text('outage', false))).toEqual([]);
    expect(check(text('', false), { trigger: 'outage' })).toEqual([]);
  });

  it('needs it when the condition holds, or its value is not known yet', () => {
    expect(check(text('drill', false))).toEqual(['token']);
    expect(check(text('', false))).toEqual(['trigger', 'token']);
    // Captured by an earlier step: only the walk will know, so the step may run.
    expect(check(text('outage', true))).toEqual(['token']);
  });
});
