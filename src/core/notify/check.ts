/**
 * Checks a `notify:` list (of a runbook or of config.yml) with the schema and the meaning
 * checks, as problems with a path: the caller turns each path into `file:line:col`.
 */
import { checkSinks, isSecretKey, NotifyListSchema, type NotifySinkDef } from './config.js';

export interface PathProblem {
  path: (string | number)[];
  severity: 'error' | 'warning';
  message: string;
  target?: 'key' | 'value';
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  input?: unknown;
}

/** `label` names the list in messages (`notify`); paths are relative to the list. */
export function checkNotifyList(raw: unknown, label = 'notify'): { sinks?: NotifySinkDef[]; problems: PathProblem[] } {
  const problems: PathProblem[] = [];
  const parsed = NotifyListSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues as Issue[]) {
      const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
      const where = label + path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('');
      if (issue.code === 'unrecognized_keys') {
        // A URL or token written in the file: checkSinks says what to do instead.
        for (const key of (issue.keys ?? []).filter((k) => !isSecretKey(k)))
          problems.push({
            path: [...path, key],
            severity: 'error',
            target: 'key',
            message: `${where}.${key}: unknown field \`${key}\` (known: type, name, url_env, token_env, room, incident_env, events, rehearsals, interval, backoff)`,
          });
      } else if (issue.code === 'invalid_type' && issue.input === undefined && path.length > 0) {
        problems.push({
          path: path.slice(0, -1),
          severity: 'error',
          message: `${label}${path
            .slice(0, -1)
            .map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`))
            .join('')}: missing required field \`${String(path[path.length - 1])}\``,
        });
      } else if (issue.code === 'invalid_value' && issue.values) {
        problems.push({
          path,
          severity: 'error',
          message: `${where}: must be one of ${issue.values.map(String).join(', ')}${issue.input === undefined ? '' : ` (not ${JSON.stringify(issue.input)})`}`,
        });
      } else {
        problems.push({ path, severity: 'error', message: `${where}: ${issue.message}` });
      }
    }
  }
  problems.push(...checkSinks(raw, label));
  if (!parsed.success || problems.some((p) => p.severity === 'error')) return { problems };
  return { sinks: parsed.data, problems };
}
