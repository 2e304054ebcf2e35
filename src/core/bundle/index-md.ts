/** INDEX.md: the printable part of a bundle, and what it does not hold. */
import { dirname, isAbsolute, relative, sep } from 'node:path';
import type { Runbook } from '../model.js';
import { plural } from '../plural.js';
import { escapeMarkdownInline, renderRunbookMarkdown } from '../render-runbook.js';
import { VERSION } from '../../version.js';
import { SINGLE_FILE, SUMS } from './layout.js';

export interface BundledRunbook {
  runbook: Runbook;
  /** The runbook file it was copied from. */
  source: string;
}

export interface IndexContext {
  /** The bundle's directory: links in INDEX.md are relative to it. */
  root: string;
  sourceDir: string;
  docs: number;
  made: Date;
  /** Local files each copied doc links (markdown links and images), which are not copied. */
  docLinks: { name: string; targets: string[] }[];
}

export function renderIndex(bundled: BundledRunbook[], ctx: IndexContext): { text: string; urls: number } {
  const anchors = new Map<Runbook, string>();
  const used = new Set<string>();
  for (const { runbook } of bundled) {
    let anchor = `runbook-${runbook.id}`;
    for (let n = 2; used.has(anchor); n++) anchor = `runbook-${runbook.id}-${n}`;
    used.add(anchor);
    anchors.set(runbook, anchor);
  }
  const href = (doc: { path?: string; anchor?: string }) => {
    if (!doc.path) return undefined;
    const rel = relative(ctx.root, doc.path).split(sep).join('/');
    return doc.anchor ? `${rel}#${doc.anchor}` : rel;
  };

  const out: string[] = [];
  const when = `${ctx.made.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  out.push('# Recovery bundle', '');
  out.push(
    `Made ${when} by drbook ${VERSION} from \`${escapeCode(ctx.sourceDir)}\`: ${plural(bundled.length, 'runbook')}, ${plural(ctx.docs, 'local doc')}.`,
    '',
  );
  out.push('Everything here works offline with only Node.js (20.17 or later), from any directory:', '');
  out.push('```sh');
  out.push(`node ${SINGLE_FILE} list                        # the runbooks beside it`);
  out.push(`node ${SINGLE_FILE} show RUNBOOK --format md    # one printable checklist`);
  out.push(`node ${SINGLE_FILE} run RUNBOOK                 # the live walk; the journal goes to $DRBOOK_HOME or ~/.local/state/drbook`);
  out.push(`sha256sum -c ${SUMS}                    # or: node ${SINGLE_FILE} bundle --check .`);
  out.push('```', '');
  out.push(
    '`runbooks/` holds the runbooks, their doc paths pointing into `docs/`; `docs/` holds each local doc a runbook links ' +
      '(see [Not in this bundle](#not-in-this-bundle) for what is missing).',
    '',
  );
  out.push('## Contents', '');
  for (const { runbook } of bundled) {
    const meta = [`\`${runbook.id}\``, plural(runbook.steps.length, 'step')];
    if (runbook.rto) meta.push(`RTO ${escapeMarkdownInline(runbook.rto)}`);
    out.push(`- [${escapeMarkdownInline(runbook.title)}](#${anchors.get(runbook)}) — ${meta.join(', ')}`);
  }
  out.push('- [Not in this bundle](#not-in-this-bundle)', '');

  for (const { runbook } of bundled) {
    out.push('---', '', `<a id="${anchors.get(runbook)}"></a>`, '');
    out.push(renderRunbookMarkdown(runbook, href).trimEnd(), '');
  }

  // Every URL the runbooks name, once, with where it is used: the operator must know
  // before the night which links will be dead with the network.
  const urls = new Map<string, string[]>();
  const cwds: string[] = [];
  for (const { runbook, source } of bundled) {
    const linked = new Set<string>();
    for (const step of runbook.steps) {
      for (const doc of step.docLinks) {
        if (doc.key) linked.add(doc.key);
        if (!doc.url) continue;
        const local = href(doc);
        const where = `\`${runbook.id}\` step ${step.index + 1} \`${step.id}\` (${escapeMarkdownInline(doc.title)}${local ? `; offline copy: [${escapeMarkdownInline(local)}](<${local}>)` : ''})`;
        urls.set(doc.url, [...(urls.get(doc.url) ?? []), where]);
      }
      if (step.cwd && !isAbsolute(step.cwd)) {
        cwds.push(`- \`${runbook.id}\` step ${step.index + 1} \`${step.id}\`: \`${escapeCode(step.cwd)}\` (relative to ${escapeCode(dirname(source))})`);
      }
    }
    for (const [key, doc] of Object.entries(runbook.docs)) {
      if (doc.url && !linked.has(key))
        urls.set(doc.url, [...(urls.get(doc.url) ?? []), `\`${runbook.id}\` docs.${escapeMarkdownInline(key)} (not linked from a step)`]);
    }
  }
  out.push('---', '', '## Not in this bundle', '');
  out.push('### External URLs', '');
  if (urls.size === 0) out.push('None: every doc the runbooks link is in `docs/`.');
  else {
    out.push('drbook did not fetch these; open them while the network is up, or keep copies elsewhere.', '');
    for (const [url, places] of urls) out.push(`- <${url.replace(/[<>\s]/g, encodeURIComponent)}> — ${places.join('; ')}`);
  }
  out.push('');
  if (cwds.length) {
    out.push('### Working directories', '');
    out.push(
      'These steps run in a directory relative to where the runbook was written; it is not copied, so create it or give `cwd` another value on this machine.',
      '',
    );
    out.push(...cwds, '');
  }
  out.push('### Files the docs link', '');
  const unbundled = ctx.docLinks.filter((d) => d.targets.length > 0);
  out.push(
    `Only the files the runbooks link are in \`docs/\`; images, scripts or pages that those docs link in turn are not copied.${unbundled.length ? ' These links in the docs will not open from the bundle:' : ''}`,
  );
  if (unbundled.length) {
    out.push('');
    for (const d of unbundled) out.push(`- \`docs/${escapeCode(d.name)}\` links ${d.targets.map((t) => `\`${escapeCode(t)}\``).join(', ')}`);
  }
  out.push('');
  return {
    text:
      out
        .join('\n')
        .replace(/\n{3,}/g, '\n\n')
        .trimEnd() + '\n',
    urls: urls.size,
  };
}

/** The relative targets of a markdown doc's links and images: `[x](img/a.png)`, `<img src="a.png">`. */
export function localLinks(markdown: string): string[] {
  const targets = new Set<string>();
  const add = (raw: string) => {
    const target = raw.replace(/^<|>$/g, '').split('#')[0]!.trim();
    // Skip URLs (scheme:), mail links, absolute web paths and in-page anchors.
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return;
    targets.add(target);
  };
  for (const m of markdown.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)/g)) add(m[1]!);
  for (const m of markdown.matchAll(/^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) add(m[1]!);
  for (const m of markdown.matchAll(/<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)) add(m[1]!);
  return [...targets];
}

function escapeCode(text: string): string {
  return text.replace(/`/g, "'");
}
