import { join } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { SLUG } from '../core/runbook-schema.js';
import { displayPath } from '../adapters/file-text.js';
import { runbooksDir } from '../adapters/runbook-files.js';
import { writeNewFile } from '../adapters/write-new-file.js';

export interface NewOptions {
  dir?: string;
}

/** `drbook new ID`: a starter runbook with every field once, commented, and valid as written. */
export async function runNew(id: string, options: NewOptions): Promise<number> {
  if (!SLUG.test(id)) throw new DrbookError(`"${id}" is not a valid runbook id: lower-case letters, digits and dashes (e.g. mail-server)`, ExitCode.usage);
  const file = join(runbooksDir(options.dir), `${id}.yml`);
  await writeNewFile(file, starterRunbook(id), false);
  process.stderr.write(`wrote ${displayPath(file)}\nnext: edit it, then drbook validate ${displayPath(file)} && drbook rehearse ${displayPath(file)}\n`);
  return ExitCode.ok;
}

/** @internal exported for tests */
function starterRunbook(id: string): string {
  return `# yaml-language-server: $schema=https://drbook.dev/schema/runbook.schema.json
# A starter runbook: every field appears once. Replace the examples, delete what you do
# not need, then: drbook validate, drbook rehearse. \`drbook schema\` describes each field.
drbook: 1                        # format version, required
id: ${id}                        # slug; defaults to the file name
title: Restore the service on a new host
summary: Use when the host is lost (fire, disk, provider outage).
owner: ops                       # who keeps this runbook true
rto: 2h                          # recovery time objective: 90m, 2h, 1h30m
tags: [example]
shell: bash                      # bash (bash -e -o pipefail -c) or sh (sh -e -c)
docs:                            # the scattered docs, named once, linked from steps
  wiki:
    title: The service's page on the wiki
    url: https://wiki.example.org/service
    # path: ../docs/service.md#restore   # a local copy, relative to this file (must exist)
vars:
  new_ip:
    prompt: IPv4 address of the new server   # asked at the first step that needs it
    description: The address the provider gave for the new server.
    pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$'
  service_host:
    default: service.example.org
  api_token:
    env: API_TOKEN               # read from the environment
    secret: true                 # masked when typed, *** in the journal and exports
  dns_plan:
    choices: { reuse: Point the old name at the new IP, rename: Switch to a new name }
steps:
  - id: confirm-outage
    title: Confirm the outage of {{service_host}}
    description: Check the monitoring, then ping the host.   # markdown, templated
    run: ping -c 1 -W 2 {{service_host}}
    expect: { exit: [0, 1, 2], stdout: 'PING|ping', stderr: '.*' }   # default: exit 0
    safe: true                   # read-only: rehearse --run-safe may execute it
    timeout: 30s                 # SIGTERM to the command tree, SIGKILL 5 s later
    on_failure: continue         # ask (default) | abort | continue
    docs: [wiki]
  - id: announce
    title: Announce the incident
    confirm: Is the incident posted on the status page?   # a step without run is manual
    docs: [{ title: Status page, url: https://status.example.org }]
  - id: choose-dns
    title: Decide how DNS moves
    ask: [new_ip, dns_plan]      # ask for these vars at this step
  - id: read-key
    title: Read the new host key
    run: echo "host key of {{new_ip}}"   # {{name}} as you would write $name: in quotes too
    capture: host_key            # trimmed stdout becomes a var for later steps
    cwd: .                       # relative to this file
    env: { TOKEN: '{{api_token}}' }
  - id: dns-reuse
    title: Point {{service_host}} at {{new_ip}}
    when: dns_plan == reuse      # also !=; a false condition skips the step
    run: echo set A {{service_host}} {{new_ip}} {{host_key}}
    confirm: Does {{service_host}} resolve to {{new_ip}}?   # asked after the command succeeds
`;
}
