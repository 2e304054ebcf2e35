/**
 * The post-mortem as GitHub/GitLab-flavoured markdown. Every string that came from a
 * person or a program goes through markdown-text.ts; only the fixed words are written here.
 */
import { formatDuration } from '../duration.js';
import { plural } from '../plural.js';
import { MASK } from '../redact.js';
import { COMPLETED_WHILE_AWAY, type StepOutcome, type VarSource } from '../journal-events.js';
import { code, codeBlock, inline, shorten } from './markdown-text.js';
import type { ExportReport, FailedAttempt, Instant, Moment, StepAside, StepRow } from './report.js';
import type { LastAttempt, RtoCheck, SessionStatus } from './summary.js';
import { longDate } from './time-zone.js';
import { buildGantt } from './gantt.js';
import { MILESTONE_LABELS } from '../milestones.js';

/** A command named again on its result line, once its full text is on the line above: longer ones are "the command". */
const RESULT_COMMAND_CHARS = 60;
/** Variable values (a captured host key) in the chronology. */
const CHRONOLOGY_VALUE_CHARS = 48;
/** A run of identical failed attempts longer than this is folded into one line. */
const FOLD_ATTEMPTS_FROM = 4;

export function renderMarkdown(report: ExportReport): string {
  const out: string[] = [];
  header(report, out);
  keyTimesSection(report, out);
  chronology(report, out);
  gantt(report, out);
  steps(report, out);
  deviations(report, out);
  rolledBackSection(report, out);
  notes(report, out);
  evidence(report, out);
  fillIn(report, out);
  // Sections end with a blank entry and some start with one: keep one blank line between
  // blocks. Entries are compared whole, so blank lines inside a code block are kept.
  const lines = out.filter((line, i) => line !== '' || (i > 0 && out[i - 1] !== ''));
  return `${lines.join('\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------- header

function header(r: ExportReport, out: string[]): void {
  const kind = r.mode === 'rehearsal' ? 'Post-mortem (rehearsal)' : 'Post-mortem';
  out.push(`# ${kind}: ${inline(r.runbook.title)}`, '');

  const mode = r.mode === 'rehearsal' ? 'Rehearsal' : 'Live run';
  const started = `${longDate(wallOf(r.start))} ${hhmm(r.start)}`;
  const took = formatDuration(r.totalMs);
  let when: string;
  if (r.end === null) {
    when = `${started}, not finished: ${r.status === 'paused' ? 'paused' : 'no end recorded'} after ${took}`;
  } else {
    const ended = sameDay(r.start, r.end) ? hhmm(r.end) : `${longDate(wallOf(r.end))} ${hhmm(r.end)}`;
    when = `${started} – ${ended}: ${statusPhrase(r.status)} ${r.status === 'completed' ? 'in' : 'after'} ${took}`;
  }
  out.push(`${mode} of ${code(r.runbook.id)} by ${inline(operator(r))}, ${when}, ${rtoShort(r.rto, r.status)}.`, '');

  const zone =
    r.timeZone.offsetAtStart === r.timeZone.offsetAtEnd
      ? r.timeZone.name === `UTC${r.timeZone.offsetAtStart}`
        ? r.timeZone.name
        : `${r.timeZone.name} (UTC${r.timeZone.offsetAtStart})`
      : `${r.timeZone.name} (UTC${r.timeZone.offsetAtStart} at the start, UTC${r.timeZone.offsetAtEnd} at the end)`;
  const zoneNote =
    r.timeZone.source === 'option' && r.timeZone.name !== r.timeZone.sessionZone ? `; the session was recorded in ${r.timeZone.sessionZone}` : '';
  const paused = r.pausedMs > 0 || r.resumes > 0 ? `, of which ${formatDuration(r.pausedMs)} paused (${plural(r.resumes, 'resume')})` : '';
  const chain = r.journal.chainVerifies
    ? 'the chain verifies'
    : `**the chain does not verify** (event ${r.journal.brokenAt ?? '?'} does not follow the one before: the file was changed after it was written)`;

  out.push(
    `- **Runbook:** ${inline(r.runbook.title)} (${code(r.runbook.id)}, ${code(r.runbook.path)}, sha256 ${code(r.runbook.sha256.slice(0, 12))})`,
    `- **Mode:** ${r.mode === 'rehearsal' ? 'rehearsal (dry run: commands shown, not executed, except safe ones)' : 'live'}`,
    `- **Operator:** ${inline(operator(r))}`,
    `- **Times:** ${zone}${zoneNote}`,
    `- **Start:** ${r.start.local}`,
    `- **End:** ${r.end === null ? `not finished (${r.status === 'paused' ? 'paused; ' : ''}last event ${r.lastEvent.local})` : `${r.end.local} (${statusPhrase(r.status)})`}`,
    `- **Total time:** ${formatDuration(r.totalMs)}${r.end === null ? ' so far' : ''}${paused}`,
    ...(r.clockWentBackMs === undefined
      ? []
      : [
          `- **Clock:** the machine's clock went back ${formatDuration(r.clockWentBackMs)} during the session: times are as it showed them, so some are earlier than the line before; the order and the total time are the journal's`,
        ]),
    `- **RTO:** ${rtoLong(r.rto, r.status, r.totalMs)}${r.mode === 'rehearsal' && r.rto !== null ? ' (a rehearsal: commands were shown, not run, so this time says little about a real recovery)' : ''}`,
    `- **Steps:** ${countsText(r)}`,
    `- **Journal:** ${code(r.session)}, ${plural(r.journal.events, 'event')}, final hash ${r.journal.finalHash === null ? 'none' : code(r.journal.finalHash)}; ${chain}`,
  );
  if (r.notify !== undefined) out.push(`- **Timeline sent to:** ${r.notify.map(sentText).join('; ')}`);
  out.push('');
}

/** `slack (all 42 events)`, `gitlab (40 of 42 events; 2 waiting, stopped: HTTP 401)`. */
function sentText(n: NonNullable<ExportReport['notify']>[number]): string {
  const what = n.waiting === 0 ? `all ${plural(n.selected, 'event')}` : `${n.selected - n.waiting} of ${plural(n.selected, 'event')}; ${n.waiting} waiting`;
  return `${inline(n.sink)} (${n.type}, ${what}${n.stopped ? `, stopped: ${inline(n.stopped)}` : ''})`;
}

function operator(r: ExportReport): string {
  return `${r.operator.user}@${r.operator.host}`;
}

/** Notes taken during the walk are by "operator": the session's operator. */
function author(r: ExportReport, by: string): string {
  return by === 'operator' ? operator(r) : by;
}

function statusPhrase(status: SessionStatus): string {
  switch (status) {
    case 'completed':
      return 'completed';
    case 'aborted':
      return 'aborted';
    case 'failed':
      return 'ended with a failed step';
    case 'paused':
      return 'paused';
    case 'interrupted':
    case 'running':
      return 'not finished';
  }
}

/** A session that has not ended: its recovery time still runs. */
function stillOpen(status: SessionStatus): boolean {
  return status === 'paused' || status === 'interrupted' || status === 'running';
}

/**
 * A margin left of an objective: rounded as every duration is, except that it never rounds
 * up to the whole objective when what was used shows (0.4s lost of a 24h RPO leaves
 * 23h 59m 59s, not 1d; 0.0s leaves the whole of it).
 */
function spare(ms: number, targetMs: number): string {
  const shown = ms < 59_500 ? ms : Math.round(ms / 1000) * 1000;
  return formatDuration(ms > 0 && targetMs - ms >= 50 && shown >= targetMs ? Math.floor(ms / 1000) * 1000 : ms);
}

function rtoShort(rto: RtoCheck | null, status: SessionStatus): string {
  if (rto === null) return 'no RTO set';
  if (rto.met === true) return `RTO ${rto.target} met`;
  if (rto.met === false) return `**RTO ${rto.target} missed by ${formatDuration(rto.marginMs)}**`;
  return stillOpen(status) ? `RTO ${rto.target} not reached yet` : `**RTO ${rto.target} not met**: recovery did not complete`;
}

function rtoLong(rto: RtoCheck | null, status: SessionStatus, totalMs: number): string {
  if (rto === null) return 'none set in the runbook';
  if (rto.met === true) return `${rto.target}: met, ${spare(rto.marginMs, rto.targetMs)} to spare`;
  if (rto.met === false) {
    const tail = status === 'completed' ? '' : ` (${statusPhrase(status)})`;
    return `${rto.target}: **missed by ${formatDuration(rto.marginMs)}**${tail}`;
  }
  if (stillOpen(status)) return `${rto.target}: not finished, ${formatDuration(totalMs)} elapsed, ${spare(rto.marginMs, rto.targetMs)} left`;
  return `${rto.target}: **not met**, the session ${statusPhrase(status)} after ${formatDuration(totalMs)}`;
}

function countsText(r: ExportReport): string {
  const c = r.steps;
  const parts = [`${c.done} done`, `${c.skipped} skipped`, `${c.failed} failed`, `${c.markedDone} done by hand`];
  if (c.unfinished > 0) parts.push(`${c.unfinished} unfinished`);
  if (c.notReached > 0) parts.push(`${c.notReached} not reached`);
  return `${parts.join(', ')} (of ${c.total})`;
}

// ---------------------------------------------------------------- key times

function keyTimesSection(r: ExportReport, out: string[]): void {
  const k = r.keyTimes;
  out.push('## Key times', '');
  if (k.milestones.length === 0) {
    out.push(
      '_No milestone was marked: `drbook mark impact-started|detected|mitigated|resolved --session ' +
        r.session +
        ' --at TIME` adds them, also after the session._',
      '',
    );
  } else {
    out.push('| Milestone | Time | Source |', '| --- | --- | --- |');
    for (const m of k.milestones) {
      const source =
        m.source === 'step'
          ? `step ${m.step === null ? '' : titleText(rowOf(r, m.step)?.title ?? m.step, m.step, { inTable: true })} done`
          : `${code('drbook mark', { inTable: true })} by ${inline(m.by)}${m.recordedAt === null ? '' : `, backdated (marked at ${dayTimeSeconds(r, m.recordedAt)})`}`;
      const replaced = m.replaces > 0 ? `; replaces ${plural(m.replaces, 'earlier mark')}` : '';
      out.push(`| ${m.label} | ${dayTimeSeconds(r, m.at)} | ${source}${replaced}${m.text === null ? '' : `: ${inline(m.text)}`} |`);
    }
    out.push('');
  }
  for (const problem of k.outOfOrder) out.push(`**Out of order:** ${inline(problem)}. Check the times marked.`, '');
  const impactKnown = k.milestones.some((m) => m.name === 'impact-started');
  if (impactKnown) {
    const since = (ms: number | null, what: string, milestone: string): string =>
      ms === null
        ? `${what}: — (${milestone} not marked)`
        : `${what}: **${formatDuration(Math.abs(ms))}**${ms < 0 ? ' _before_ impact started (out of order)' : ''}`;
    out.push(
      `- ${since(k.timeToDetectMs, 'Time to detect', 'detected')}`,
      `- ${since(k.timeToMitigateMs, 'Time to mitigate', 'mitigated')}`,
      `- ${since(k.timeToResolveMs, 'Time to resolve', 'resolved')}`,
    );
  } else if (k.milestones.length > 0) {
    out.push('- Times to detect, mitigate and resolve: — (they count from impact started, which was not marked)');
  }
  if (r.rto !== null) {
    const from = r.rto.from === 'impact-started' ? 'from impact started' : 'from the session start (no impact-started milestone marked)';
    const to = r.rto.to === 'resolved' ? 'to resolved' : r.end === null ? 'to the last event' : 'to the session end';
    out.push(`- Recovery time: **${formatDuration(r.rto.measuredMs)}**, ${from} ${to}; RTO ${rtoLong(r.rto, r.status, r.rto.measuredMs)}`);
  }
  const rp = r.recoveryPoint;
  if (rp !== null) {
    const until = rp.until === 'impact-started' ? 'impact started' : 'the session start (no impact-started milestone marked)';
    if (rp.at === null || rp.lossMs === null) {
      out.push(`- Recovery point: unknown, ${inline(rp.problem ?? '')} (${code(rp.variable)}); RPO ${rp.target ?? 'not set'}`);
    } else {
      const verdict =
        rp.met === null
          ? 'no RPO set'
          : rp.met
            ? `RPO ${rp.target}: met, ${spare(rp.targetMs! - rp.lossMs, rp.targetMs!)} to spare`
            : `**RPO ${rp.target}: missed by ${formatDuration(rp.lossMs - rp.targetMs!)}**`;
      out.push(
        `- Recovery point: ${dayTimeSeconds(r, rp.at)} (${code(rp.variable)} = ${code(rp.value ?? '')})`,
        `- Data-loss window: **${formatDuration(Math.max(0, rp.lossMs))}**, from the recovery point to ${until} (${dayTimeSeconds(r, rp.untilAt)}): what was written then is lost; ${verdict}${rp.problem === null ? '' : ` (${inline(rp.problem)})`}`,
      );
    }
  }
  out.push('');
}

function dayTimeSeconds(r: ExportReport, i: Instant): string {
  return sameDay(r.start, i) ? i.local.slice(11, 19) : i.local.slice(0, 19);
}

// ---------------------------------------------------------------- gantt

function gantt(r: ExportReport, out: string[]): void {
  const chart = buildGantt(r);
  if (chart === null) return;
  out.push('## Timeline', '', codeBlock(chart.source, 'mermaid'), '');
  if (chart.note !== null) out.push(`_${chart.note}_`, '');
}

// ---------------------------------------------------------------- evidence

function evidence(r: ExportReport, out: string[]): void {
  if (r.evidence.length === 0) return;
  out.push(
    '## Evidence',
    '',
    `_Copies in the session directory (${code(r.session)}/), 0600; the sha256 shows whether a copy changed since._`,
    '',
    '| Time | File | Size | sha256 | Step | Note |',
    '| --- | --- | ---: | --- | --- | --- |',
  );
  for (const e of r.evidence) {
    const step = e.step === null ? '—' : titleText(e.stepTitle ?? e.step, e.step, { inTable: true });
    out.push(
      `| ${dayTimeSeconds(r, e.at)} | ${code(e.file, { inTable: true })} | ${formatBytes(e.bytes)} | ${code(e.sha256, { inTable: true })} | ${step} | ${e.note === null ? '' : inline(e.note)} |`,
    );
  }
  out.push('');
}

// ---------------------------------------------------------------- chronology

/** One line of the chronology before it is written: a moment, or a span of folded moments. */
interface Line {
  start: Instant;
  end: Instant;
  text: string;
  /** For folding identical failed attempts: step + command + result. */
  failure?: string;
  /** A decision taken at this step (folded with the attempts around it), and its answer. */
  decision?: { step: string; answer: string };
}

function chronology(r: ExportReport, out: string[]): void {
  if (!section(out, 'Chronology', r.chronology, '_No events._')) return;
  const lines = foldRepeats(toLines(r));
  let day = '';
  let offset = '';
  let inList = false;
  for (const line of lines) {
    const wall = wallOf(line.start);
    if (wall.date !== day) {
      if (inList) out.push('');
      out.push(`**${longDate(wall)}**`, '');
      day = wall.date;
      inList = true;
    }
    if (offset !== '' && line.start.offset !== offset) {
      out.push('', `_From here on, ${r.timeZone.name} is UTC${line.start.offset}._`, '');
    }
    offset = line.start.offset;
    out.push(`- ${spanSeconds(line.start, line.end)} — ${line.text}`);
  }
  out.push('');
}

function toLines(r: ExportReport): Line[] {
  const moments = r.chronology;
  const lines: Line[] = [];
  let i = 0;
  while (i < moments.length) {
    const m = moments[i]!;
    const next = moments[i + 1];
    if (m.clockWentBackMs !== undefined) lines.push({ start: m.at, end: m.at, text: clockBackText(m.clockWentBackMs) });
    if (m.kind === 'step.started') {
      const smooth = smoothStep(r, moments, i);
      if (smooth) {
        lines.push(smooth.line);
        i = smooth.next;
        continue;
      }
    }
    // A command and its result, when nothing happened in between.
    if (
      m.kind === 'command.started' &&
      next?.kind === 'command.finished' &&
      next.step === m.step &&
      next.attempt === m.attempt &&
      next.clockWentBackMs === undefined
    ) {
      const attempt = m.attempt > 1 ? ` (attempt ${m.attempt})` : '';
      lines.push({
        start: m.at,
        end: next.at,
        text: `Ran ${command(m.command)}${attempt}: ${next.ok ? result(next) : `**failed**, ${result(next)}`}`,
        ...(next.ok ? {} : { failure: `${m.step ?? ''}\u0000${m.command}\u0000${exitText(next)}` }),
      });
      i += 2;
      continue;
    }
    // Variables set together (at the start: defaults, --var, environment) on one line.
    if (m.kind === 'var.set') {
      const group: Extract<Moment, { kind: 'var.set' }>[] = [m];
      let j = i + 1;
      for (; j < moments.length; j++) {
        const v = moments[j]!;
        if (
          v.kind !== 'var.set' ||
          v.clockWentBackMs !== undefined ||
          VAR_VERBS[v.source] !== VAR_VERBS[m.source] ||
          v.at.local.slice(0, 16) !== m.at.local.slice(0, 16)
        )
          break;
        group.push(v);
      }
      const last = group[group.length - 1]!;
      lines.push({ start: m.at, end: last.at, text: `${VAR_VERBS[m.source]} ${group.map(varText).join(', ')}` });
      i = j;
      continue;
    }
    const single = momentLine(r, m);
    if (single !== null) lines.push(single);
    i++;
  }
  return lines;
}

/** How far ahead a step's one-line summary may look: a smooth step has only a few moments. */
const SMOOTH_STEP_MOMENTS = 12;

function clockBackText(ms: number): string {
  return `_The machine's clock went back ${formatDuration(ms)} here: the times from here on are as it showed them; the order is the journal's._`;
}

/**
 * A step that went as written (at most one command, which did what was expected; only
 * "yes" to its confirmations): all its moments on one line, so a smooth run reads like
 * the seed's chronology and the lines that remain are the ones that matter.
 */
function smoothStep(r: ExportReport, moments: readonly Moment[], i: number): { line: Line; next: number } | null {
  const first = moments[i]!;
  const parts: string[] = [];
  let commands = 0;
  for (let j = i + 1; j < moments.length && j <= i + SMOOTH_STEP_MOMENTS; j++) {
    const m = moments[j]!;
    if (m.step !== first.step || m.clockWentBackMs !== undefined) return null;
    switch (m.kind) {
      case 'step.finished': {
        if (m.outcome !== 'done' && m.outcome !== 'skipped') return null;
        parts.push(stepOutcome(m));
        return { line: { start: first.at, end: m.at, text: `${stepLabel(r, first)}: ${parts.join('; ')}` }, next: j + 1 };
      }
      case 'command.started': {
        const finished = moments[j + 1];
        if (commands > 0 || finished?.kind !== 'command.finished' || finished.step !== m.step || finished.attempt !== m.attempt || !finished.ok) return null;
        parts.push(`ran ${command(m.command)}, ${result(finished)}`);
        commands++;
        j++;
        break;
      }
      case 'command.rehearsed':
        if (commands > 0) return null;
        parts.push(`would run ${command(m.command)} (not executed)`);
        commands++;
        break;
      case 'var.set':
        parts.push(`${VAR_VERBS[m.source].toLowerCase()} ${varText(m)}`);
        break;
      case 'decision':
        if (m.answer !== 'yes') return null;
        parts.push(`confirmed “${inline(m.question)}”`);
        break;
      default:
        return null;
    }
  }
  return null;
}

function momentLine(r: ExportReport, m: Moment): Line | null {
  const at = { start: m.at, end: m.at };
  switch (m.kind) {
    case 'session.started': {
      const from = m.from === null ? '' : `, from step ${code(m.from)}`;
      const what = m.mode === 'rehearsal' ? 'rehearsal' : 'live run';
      return { ...at, text: `Session started: ${what} of ${code(r.runbook.id)} by ${inline(m.operator)}${from}` };
    }
    case 'step.started':
      return { ...at, text: `${stepLabel(r, m)} started` };
    case 'step.finished':
      return { ...at, text: `${stepLabel(r, m)}: ${stepOutcome(m)}` };
    case 'command.started': {
      const lost = m.finished ? '' : ': no result recorded, drbook stopped while it ran';
      return { ...at, text: `Started ${command(m.command)}${m.attempt > 1 ? ` (attempt ${m.attempt})` : ''}${lost}` };
    }
    case 'command.finished':
      return {
        ...at,
        text: `${m.command === '' || m.command.length > RESULT_COMMAND_CHARS ? 'The command' : command(m.command)}${m.attempt > 1 ? ` (attempt ${m.attempt})` : ''} ${m.ok ? 'finished' : '**failed**'}: ${result(m)}`,
      };
    case 'command.rehearsed':
      return { ...at, text: `Would run ${command(m.command)} (rehearsal: not executed)` };
    case 'command.edited':
      return { ...at, text: `Edited the command before attempt ${m.attempt}: now ${command(m.to)} (diff under Deviations)` };
    case 'decision':
      return {
        ...at,
        text: `Decision: ${inline(m.question)} → **${inline(m.answer)}**${m.by === '--yes' ? ' (--yes)' : ''}`,
        ...(m.step === null ? {} : { decision: { step: m.step, answer: m.answer } }),
      };
    case 'note': {
      const by = author(r, m.by) === operator(r) ? 'Note' : `Note by ${inline(m.by)}`;
      const noted = m.notedAt === null ? '' : ` _(noted at ${notedAt(m.at, m.notedAt)})_`;
      return { ...at, text: `${by}: ${inline(m.text)}${noted}` };
    }
    case 'session.paused':
      return { ...at, text: `Paused${m.step === null ? '' : ` at ${stepLabel(r, m)}`}: ${inline(m.reason)}` };
    case 'session.resumed': {
      const changed =
        m.runbookChanged === null
          ? ''
          : `; **the runbook file had changed** (sha256 ${code(m.runbookChanged.from.slice(0, 12))} → ${code(m.runbookChanged.to.slice(0, 12))})`;
      const dropped =
        m.droppedAfter === null
          ? ''
          : `drbook stopped (no end recorded), last event at ${m.droppedAfter.local.slice(sameDay(m.droppedAfter, m.at) ? 11 : 0)}; `;
      const moved = m.runbookPath === undefined ? '' : `; runbook read from ${code(m.runbookPath)}`;
      return {
        ...at,
        text: `${dropped}${m.reopened ? 'Reopened (it had ended aborted)' : 'Resumed'} after a gap of ${formatDuration(m.gapMs)}${changed}${moved}`,
      };
    }
    case 'milestone': {
      const via = m.source === 'step' ? ` (step ${stepLabel(r, m)} done)` : '';
      const by = m.source === 'cli' && author(r, m.by) !== operator(r) ? ` by ${inline(m.by)}` : '';
      const noted = m.notedAt === null ? '' : ` _(marked at ${notedAt(m.at, m.notedAt)})_`;
      return { ...at, text: `**Milestone: ${MILESTONE_LABELS[m.name].toLowerCase()}**${via}${by}${m.text === null ? '' : `: ${inline(m.text)}`}${noted}` };
    }
    case 'evidence': {
      const noted = m.notedAt === null ? '' : ` _(attached at ${notedAt(m.at, m.notedAt)})_`;
      return {
        ...at,
        text: `Evidence attached: ${code(m.file)} (${formatBytes(m.bytes)}, sha256 ${code(m.sha256.slice(0, 12))})${m.note === null ? '' : `: ${inline(m.note)}`}${noted}`,
      };
    }
    case 'session.ended':
      return { ...at, text: `Session ${statusPhrase(m.status)}: ${countsText(r)}${m.reason ? `; reason: ${inline(m.reason)}` : ''}` };
    case 'var.set':
      return { ...at, text: `Set ${varText(m)}` };
  }
}

/**
 * A command retried many times with the same failure reads as one span: the first and the
 * last attempt stay, the ones between become a count.
 */
function foldRepeats(lines: Line[]): Line[] {
  const out: Line[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    if (first.failure === undefined) {
      out.push(first);
      i++;
      continue;
    }
    const step = first.failure.slice(0, first.failure.indexOf('\u0000'));
    const attempts: number[] = [];
    let j = i;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.failure === first.failure) attempts.push(j);
      else if (l.decision?.step !== step) break;
    }
    const lastAttempt = attempts[attempts.length - 1]!;
    if (attempts.length < FOLD_ATTEMPTS_FROM) {
      out.push(...lines.slice(i, lastAttempt + 1));
      i = lastAttempt + 1;
      continue;
    }
    const second = attempts[1]!;
    out.push(...lines.slice(i, second));
    const folded = lines.slice(second, lastAttempt);
    const answers = new Set(folded.flatMap((l) => (l.decision ? [l.decision.answer] : [])));
    const each = answers.size === 1 ? `, and each time the answer was **${inline([...answers][0]!)}**` : '';
    out.push({
      start: folded[0]!.start,
      end: folded[folded.length - 1]!.end,
      text: `… ${plural(attempts.length - 2, 'more attempt')} failed the same way${each}`,
    });
    out.push(lines[lastAttempt]!);
    i = lastAttempt + 1;
  }
  return out;
}

const rowIndexes = new WeakMap<ExportReport, Map<string, StepRow>>();

/** The step table by id, built once per report: the chronology looks steps up per moment. */
function rowOf(r: ExportReport, step: string | null): StepRow | undefined {
  let rows = rowIndexes.get(r);
  if (!rows) {
    rows = new Map(r.stepRows.map((row) => [row.step, row]));
    rowIndexes.set(r, rows);
  }
  return step === null ? undefined : rows.get(step);
}

function stepLabel(r: ExportReport, m: Pick<Moment, 'step' | 'position'> & { title?: string }): string {
  const title = m.title ?? rowOf(r, m.step)?.title ?? m.step ?? '';
  return `**${m.position === null ? '' : `${m.position}/${r.runbook.steps} `}${titleText(title, m.step)}**`;
}

/**
 * A step's title, or its id in code when the journal has no title for it: a step skipped
 * by its `when` never starts, so only its id was recorded.
 */
function titleText(title: string, step: string | null, options: { inTable?: boolean } = {}): string {
  return title === step ? code(step, options) : inline(title);
}

function stepOutcome(m: Extract<Moment, { kind: 'step.finished' }>): string {
  const took = m.durationMs >= 1000 ? `, ${formatDuration(m.durationMs)}` : '';
  const why = outcomeReason(m.outcome, m.reason);
  switch (m.outcome) {
    case 'done':
      // Not done by hand: the command did its work while drbook was away, as the operator checked.
      if (m.reason === COMPLETED_WHILE_AWAY) return `done: the operator confirmed its command completed on its own while drbook was away`;
      return `done${took}`;
    case 'skipped':
      return `skipped${why}`;
    case 'failed':
      return `**failed**${why}${took}`;
    case 'marked-done':
      return `**done by hand**${why}${took}`;
  }
}

/**
 * The engine's reasons, worded for the sentence they end: `operator: too late` after
 * "skipped" reads "skipped by the operator: too late"; "done by hand" is not repeated.
 */
function outcomeReason(outcome: StepOutcome, reason: string | null): string {
  if (reason === null || reason === '') return '';
  if (outcome === 'skipped' && /^operator(?::|$)/.test(reason))
    return ` by the operator${reason.length > 'operator'.length ? `: ${inline(reason.slice('operator:'.length).trim())}` : ''}`;
  const rest = outcome === 'marked-done' ? reason.replace(/^done by hand\s*/, '') : reason;
  if (rest === '') return '';
  return outcome === 'skipped' ? `, ${inline(rest)}` : ` (${inline(rest)})`;
}

function result(m: Extract<Moment, { kind: 'command.finished' }> | FailedAttempt['result']): string {
  const why = failureDetail(m);
  const poll =
    'poll' in m && m.poll !== undefined && m.ok && m.poll.attempt > 1
      ? `, succeeded on attempt ${m.poll.attempt} after ${formatDuration(m.poll.elapsedMs)}`
      : '';
  const took = !m.stoppedWithDrbook
    ? `after ${formatDuration(m.durationMs)}`
    : m.durationMs < 1000
      ? 'when drbook stopped (how long it ran is not known)'
      : `when drbook stopped, after at least ${formatDuration(m.durationMs)} (to its last output; the time drbook was away not counted)`;
  return `${exitText(m)} ${took}${why === '' ? '' : ` (${inline(why)})`}${poll}`;
}

/** The failure reason minus what the exit text already says ("exit code 1", "timed out"). */
function failureDetail(m: Pick<FailedAttempt['result'], 'reason' | 'exitCode' | 'signal' | 'timedOut' | 'interrupted'>): string {
  const reason = m.reason;
  if (reason === null) return '';
  if (m.exitCode !== null && reason.startsWith(`exit code ${m.exitCode}`)) return reason.slice(`exit code ${m.exitCode}`.length).replace(/^,\s*/, '');
  if (
    (m.timedOut && reason.startsWith('timed out')) ||
    (m.interrupted && reason.startsWith('interrupted')) ||
    (m.signal !== null && reason === `killed by ${m.signal}`)
  )
    return '';
  return reason;
}

function exitText(m: Pick<LastAttempt, 'exitCode' | 'signal' | 'timedOut' | 'interrupted'>): string {
  if (m.timedOut) return 'timed out';
  if (m.interrupted) return 'interrupted';
  if (m.signal !== null) return `killed by ${m.signal}`;
  return m.exitCode === null ? 'no exit code' : `exit ${m.exitCode}`;
}

/** The steps table's column is already "Exit code": a bare number there. */
function exitCell(m: LastAttempt): string {
  return m.exitCode !== null && !m.timedOut && !m.interrupted && m.signal === null ? String(m.exitCode) : exitText(m);
}

/**
 * A command whole, on one line (its line breaks as ⏎): inline code wraps where the reader's
 * window ends, and a post-mortem that cuts the command hides what ran. Only where the same
 * command is named again on its result line is a long one called "the command".
 */
function command(text: string, max = Infinity): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? 'the command' : code(flat);
}

const VAR_VERBS: Record<VarSource, string> = {
  cli: 'Set',
  'vars-file': 'Set',
  env: 'Set',
  prompt: 'Answered',
  default: 'Set',
  capture: 'Captured',
  placeholder: 'Set',
};

const SOURCES: Record<VarSource, string> = {
  cli: '--var',
  'vars-file': 'vars file',
  env: 'from the environment',
  prompt: 'asked',
  default: 'default',
  capture: 'captured',
  placeholder: 'placeholder',
};

function varText(m: Extract<Moment, { kind: 'var.set' }>): string {
  const value = m.secret ? code(MASK) : code(shorten(m.value, CHRONOLOGY_VALUE_CHARS));
  const about = [...(m.secret ? ['secret'] : []), ...(m.source === 'prompt' || m.source === 'capture' ? [] : [SOURCES[m.source]])];
  return `${code(m.name)} = ${value}${about.length === 0 ? '' : ` (${about.join(', ')})`}`;
}

function notedAt(at: Instant, noted: Instant): string {
  return sameDay(at, noted) ? hhmm(noted) : `${noted.local.slice(0, 10)} ${hhmm(noted)}`;
}

// ---------------------------------------------------------------- steps

function steps(r: ExportReport, out: string[]): void {
  if (!section(out, 'Steps', r.stepRows, '_No step was started._')) return;
  out.push('| # | Step | Outcome | Start | Duration | Attempts | Exit code |', '| ---: | --- | --- | --- | ---: | ---: | --- |');
  for (const row of r.stepRows) {
    out.push(
      `| ${row.position ?? ''} | ${row.title === row.step ? code(row.step, { inTable: true }) : `${inline(row.title)} (${code(row.step, { inTable: true })})`} | ${outcomeCell(row)} | ${
        row.start === null ? '—' : dayTime(r, row.start)
      } | ${row.durationMs === null || (row.outcome === 'skipped' && row.durationMs === 0) ? '—' : formatDuration(row.durationMs)} | ${attemptsCell(row)} | ${row.last === null ? '—' : exitCell(row.last)} |`,
    );
  }
  out.push('');
  if (r.notApplicable.length > 0) {
    out.push('### Not applicable', '', '_Skipped by their `when:` condition, as the runbook intends: not deviations._', '');
    for (const s of r.notApplicable) out.push(`- **${stepName(r, s)}**${s.reason === null ? '' : `: ${inline(s.reason)}`}`);
    out.push('');
  }
  if (r.steps.notReached > 0)
    out.push(`_${plural(r.steps.notReached, 'more step')} of the runbook ${r.steps.notReached === 1 ? 'was' : 'were'} not reached._`, '');
}

const OUTCOMES: Record<StepOutcome, string> = { done: 'done', skipped: 'skipped', failed: '**failed**', 'marked-done': 'done by hand' };

function outcomeCell(row: StepRow): string {
  return row.outcome === null ? 'not finished' : OUTCOMES[row.outcome];
}

function attemptsCell(row: StepRow): string {
  if (row.attempts > 0) return String(row.attempts);
  return row.rehearsed ? 'rehearsed' : '—';
}

// ---------------------------------------------------------------- deviations

function deviations(r: ExportReport, out: string[]): void {
  const d = r.deviations;
  out.push('## Deviations', '', '_Where the session left the runbook: each one is a place where the docs may be wrong._', '');
  if (d.failedAttempts.length + d.editedCommands.length + d.skippedSteps.length + d.markedDone.length + d.timing.length === 0) {
    out.push('None: every step ran as written.', '');
    return;
  }
  if (d.failedAttempts.length > 0) {
    out.push('### Failed attempts', '');
    for (const group of sameFailures(d.failedAttempts)) failedAttempt(r, group, out);
  }
  if (d.editedCommands.length > 0) {
    out.push('### Edited commands', '', '_The runbook said the first version; the operator ran the second._', '');
    for (const e of d.editedCommands) {
      out.push(`**${stepName(r, e)}**, before attempt ${e.attempt} (${dayTime(r, e.at)}):`, '', codeBlock(lineDiff(e.from, e.to), 'diff'), '');
    }
  }
  if (d.skippedSteps.length > 0) {
    out.push('### Skipped steps', '');
    for (const s of d.skippedSteps) out.push(`- **${stepName(r, s)}** (${dayTime(r, s.at)}): ${s.reason === null ? 'no reason recorded' : inline(s.reason)}`);
    out.push('');
  }
  if (d.markedDone.length > 0) {
    out.push('### Done by hand', '', '_The operator did these outside drbook and marked them done._', '');
    for (const s of d.markedDone) out.push(`- **${stepName(r, s)}** (${dayTime(r, s.at)})${s.reason === null ? '' : `: ${inline(s.reason)}`}`);
    out.push('');
  }
  if (d.timing.length > 0) {
    out.push(
      '### Time against earlier sessions',
      '',
      `_Each step against its median in earlier ${r.mode === 'rehearsal' ? 'rehearsals' : 'live runs'} of this runbook._`,
      '',
      '| # | Step | This session | Median before | Sessions | Difference |',
      '| ---: | --- | ---: | ---: | ---: | ---: |',
    );
    for (const t of d.timing) {
      const delta = t.durationMs - t.medianMs;
      const slow = delta > 60_000 && t.durationMs > 1.5 * t.medianMs;
      const diff = Math.abs(delta) < 1000 ? 'same' : `${delta > 0 ? '+' : '−'}${formatDuration(Math.abs(delta))}`;
      out.push(
        `| ${t.position ?? ''} | ${titleText(t.title, t.step, { inTable: true })} | ${formatDuration(t.durationMs)} | ${formatDuration(t.medianMs)} | ${t.sessions} | ${slow ? `**${diff}**` : diff} |`,
      );
    }
    out.push('');
  }
}

/** Consecutive attempts of a step that failed the same way, with the same output: shown once. */
function sameFailures(attempts: readonly FailedAttempt[]): FailedAttempt[][] {
  const groups: FailedAttempt[][] = [];
  const key = (f: FailedAttempt): string => [f.step, f.command, exitText(f.result), f.result.reason ?? '', f.tail].join('\u0000');
  for (const f of attempts) {
    const last = groups[groups.length - 1];
    const previous = last?.[last.length - 1];
    if (last && previous && key(previous) === key(f) && f.attempt === previous.attempt + 1) last.push(f);
    else groups.push([f]);
  }
  return groups;
}

function failedAttempt(r: ExportReport, group: readonly FailedAttempt[], out: string[]): void {
  const first = group[0]!;
  const last = group[group.length - 1]!;
  const which = group.length === 1 ? `attempt ${first.attempt}` : `attempts ${first.attempt} to ${last.attempt}, the same failure each time`;
  const when = `${dayTime(r, first.startedAt ?? first.at)}${hhmm(last.at) === hhmm(first.startedAt ?? first.at) ? '' : ` – ${hhmm(last.at)}`}`;
  const multiLine = first.command.trim().includes('\n');
  const what = multiLine ? result(first.result) : `${command(first.command, Infinity)}: ${result(first.result)}`;
  out.push(`**${stepName(r, first)}**, ${which} (${when}): ${what}${group.length > 1 ? ' (each)' : ''}.`, '');
  if (multiLine) out.push(codeBlock(first.command, 'sh'), '');
  if (first.tail.trim() === '') {
    out.push('_No output._', '');
    return;
  }
  const whose = first.tailFromLog
    ? `Last lines of its log, written before drbook stopped (${formatBytes(first.outputBytes)} in all)`
    : `Last lines of output (${formatBytes(first.outputBytes)} in all)`;
  out.push(`<details><summary>${whose}</summary>`, '', codeBlock(first.tail, 'text'), '', '</details>', '');
}

function stepName(r: ExportReport, s: Pick<StepAside, 'position' | 'title' | 'step'>): string {
  return `${s.position === null ? 'Step' : `Step ${s.position}/${r.runbook.steps}`}: ${titleText(s.title, s.step)}`;
}

/**
 * A line diff of an edited command: common lines at both ends kept as context, the
 * middle shown as removed then added. Commands are short; this is all a reader needs.
 */
export function lineDiff(from: string, to: string): string {
  const a = from.split('\n');
  const b = to.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return [
    ...a.slice(0, head).map((l) => `  ${l}`),
    ...a.slice(head, a.length - tail).map((l) => `- ${l}`),
    ...b.slice(head, b.length - tail).map((l) => `+ ${l}`),
    ...a.slice(a.length - tail).map((l) => `  ${l}`),
  ].join('\n');
}

// ---------------------------------------------------------------- notes and fill-in

/** Format 1.1: what an undo walked back, in the order it did. */
function rolledBackSection(r: ExportReport, out: string[]): void {
  if (r.rolledBack === undefined) return;
  if (!section(out, 'Rolled back', r.rolledBack, '_An undo was started; no step was walked back._')) return;
  for (const u of r.rolledBack) {
    const what =
      u.outcome === 'done'
        ? u.command === null
          ? 'undone by the operator'
          : `undone: ran ${command(u.command)}`
        : u.outcome === 'marked-done'
          ? 'undone by hand'
          : u.outcome === 'skipped'
            ? '**not undone** (skipped)'
            : '**undo failed**';
    const why = u.reason === null ? '' : ` (${inline(u.reason)})`;
    const tries = u.attempts > 1 ? `, ${u.attempts} attempts` : '';
    out.push(`- ${u.at.local.slice(11, 16)} — ${stepName(r, u)} — ${what}${tries}${why}`);
  }
  out.push('');
}

function notes(r: ExportReport, out: string[]): void {
  if (!section(out, 'Notes', r.notes, '_No notes were taken during the session._')) return;
  for (const n of r.notes) {
    const where =
      n.step === null
        ? ''
        : `, at ${stepName(r, { position: rowOf(r, n.step)?.position ?? null, title: n.stepTitle ?? n.step, step: n.step }).replace(/^Step /, 'step ')}`;
    const noted = n.notedAt === null ? '' : `, noted at ${notedAt(n.at, n.notedAt)}`;
    out.push(`- ${dayTime(r, n.at)} — ${inline(n.text)} _(${inline(author(r, n.by))}${where}${noted})_`);
  }
  out.push('');
}

const PROMPTS: [string, string][] = [
  ['Summary', 'What happened and how service came back, in three sentences, for someone who was not there.'],
  ['Impact', 'Who and what was affected, from when to when, and what was lost or delayed.'],
  ['What went well', 'What worked as planned: alerts, backups, docs, people.'],
  ['What went less well', 'What slowed the recovery down or added load at the worst moment.'],
  ['Where we got lucky', 'What saved us this time but may not next time.'],
];

function fillIn(r: ExportReport, out: string[]): void {
  for (const [heading, prompt] of PROMPTS) out.push(`## ${heading}`, '', `_${prompt}_`, '');
  out.push(
    '## Action items',
    '',
    '_One owner and a due date each; the deviations above are the first candidates._',
    '',
    '| Owner | Item | Due |',
    '| --- | --- | --- |',
  );
  for (const item of suggestedActions(r)) out.push(`|  | ${item} |  |`);
  out.push('|  |  |  |', '');
}

/** Rows the deviations suggest, owner and date left for people to fill in. */
function suggestedActions(r: ExportReport): string[] {
  const items: string[] = [];
  const seen = new Set<string>();
  const add = (key: string, s: Pick<StepAside, 'position' | 'title' | 'step'>, text: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    const name = `${s.position === null ? 'Step' : `Step ${s.position}`} (${titleText(s.title, s.step, { inTable: true })})`;
    items.push(`${name}: ${text}`);
  };
  for (const e of r.deviations.editedCommands) add(`edit:${e.step}`, e, 'fix the command in the runbook, it was edited during the session');
  for (const s of r.stepRows) if (s.outcome === 'failed') add(`failed:${s.step}`, s, 'find out why it failed and fix the runbook or the system');
  for (const s of r.deviations.markedDone) add(`hand:${s.step}`, s, 'make it work as written, it was done by hand');
  return items;
}

// ---------------------------------------------------------------- small helpers

/** A section's heading; when it has nothing to list, the line that says so, and false. */
function section(out: string[], heading: string, items: readonly unknown[], none: string): boolean {
  out.push(`## ${heading}`, '');
  if (items.length > 0) return true;
  out.push(none, '');
  return false;
}

interface Wall {
  date: string;
  weekday: number;
}

function wallOf(i: Instant): Wall {
  const date = i.local.slice(0, 10);
  const [y, m, d] = date.split('-').map(Number);
  return { date, weekday: new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)).getUTCDay() };
}

function hhmm(i: Instant): string {
  return i.local.slice(11, 16);
}

function sameDay(a: Instant, b: Instant): boolean {
  return a.local.slice(0, 10) === b.local.slice(0, 10);
}

/** HH:MM, with the date when it is not the day the session started. */
function dayTime(r: ExportReport, i: Instant): string {
  return sameDay(r.start, i) ? hhmm(i) : `${i.local.slice(0, 10)} ${hhmm(i)}`;
}

function hms(i: Instant): string {
  return i.local.slice(11, 19);
}

/** The chronology's times, to the second. */
function spanSeconds(start: Instant, end: Instant): string {
  return hms(start) === hms(end) && sameDay(start, end) ? hms(start) : `${hms(start)} – ${hms(end)}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return plural(bytes, 'byte');
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
