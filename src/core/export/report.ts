/**
 * The post-mortem of one session as data: what the markdown shows and what `--format json`
 * prints (docs/export.md documents it, version 1). Built from parsed journal events only,
 * so it is tested without files and the same data feeds both renderers.
 */
import type { EndStatus, JournalEvent, Mode, StepOutcome, VarSource } from '../journal-events.js';
import { verifyChain, type ParsedJournal } from '../journal-parse.js';
import { asCommandEvents } from '../poll-journal.js';
import { MASK, Redactor } from '../redact.js';
import {
  type ClockSteps,
  analyze,
  attemptKey,
  median,
  type Analysis,
  type LastAttempt,
  type RtoCheck,
  type SessionStatus,
  type DrillSummary,
  type StepCounts,
} from './summary.js';
import { sessionZone, ZoneClock } from './time-zone.js';
import { keyTimes, recoveryPoint, type KeyTimes, type RecoveryPointCheck } from './key-times.js';
import type { MilestoneName } from '../journal-events.js';

export const EXPORT_FORMAT = 'drbook-export';
export const EXPORT_VERSION = 2;

/** An instant both ways: UTC for machines, the report's zone for people. */
export interface Instant {
  /** ISO 8601 UTC with milliseconds, as in the journal. */
  utc: string;
  /** `2026-03-11 09:05:12` in the report's zone. */
  local: string;
  /** The zone's offset at that instant, `+01:00`. */
  offset: string;
}

interface MomentBase {
  at: Instant;
  /** The journal event's `seq`: ties keep journal order. */
  seq: number;
  step: string | null;
  /** 1-based place of the step in the runbook (the journal's 0-based `index` + 1). */
  position: number | null;
  /** The machine's clock was set back by this much just before this moment: its time is earlier than the one before. */
  clockWentBackMs?: number;
}

export type Moment = MomentBase &
  (
    | { kind: 'session.started'; mode: Mode; operator: string; from: string | null }
    | { kind: 'var.set'; name: string; value: string; source: VarSource; secret: boolean }
    | { kind: 'step.started'; title: string }
    | { kind: 'step.finished'; title: string; outcome: StepOutcome; reason: string | null; durationMs: number }
    | { kind: 'command.started'; attempt: number; command: string; /** false: no result was journalled (drbook stopped while it ran). */ finished: boolean }
    | ({ kind: 'command.finished'; attempt: number; command: string } & AttemptResult)
    | { kind: 'command.rehearsed'; command: string }
    | { kind: 'command.edited'; attempt: number; from: string; to: string }
    | { kind: 'decision'; question: string; answer: string; by?: '--yes' }
    | { kind: 'note'; text: string; by: string; source: 'walk' | 'cli'; notedAt: Instant | null }
    | { kind: 'milestone'; name: MilestoneName; text: string | null; by: string; source: 'cli' | 'step'; notedAt: Instant | null }
    | { kind: 'evidence'; file: string; name: string; sha256: string; bytes: number; note: string | null; by: string; notedAt: Instant | null }
    | { kind: 'session.paused'; reason: string }
    | {
        kind: 'session.resumed';
        gapMs: number;
        runbookChanged: { from: string; to: string } | null;
        /** drbook stopped without a pause or an end recorded (killed, a lost terminal): its last event before the gap. */
        droppedAfter: Instant | null;
        /** `resume --reopen`: the session had ended aborted. */
        reopened?: true;
        /** `resume --runbook PATH`: the runbook is read from here from now on. */
        runbookPath?: string;
      }
    | { kind: 'session.ended'; status: EndStatus; /** Why the operator aborted, when said. */ reason?: string }
  );

export interface AttemptResult {
  exitCode: number | null;
  signal: string | null;
  ok: boolean;
  /** Time the command ran: a gap while drbook was stopped (settled on resume) is not counted. */
  durationMs: number;
  /**
   * drbook stopped while it ran and the result was settled on resume: durationMs is then how
   * long it ran at least (to its last output, or to drbook's last event), not a measure.
   */
  stoppedWithDrbook: boolean;
  timedOut: boolean;
  interrupted: boolean;
  reason: string | null;
  /** An `until:` step (format 1.1): this attempt's number within its poll, and the time since the poll began. */
  poll?: { attempt: number; elapsedMs: number };
}

/** Format 1.1: one step walked back by an undo (after an abort, or `drbook undo`). */
export interface RolledBackStep {
  step: string;
  position: number | null;
  title: string;
  outcome: StepOutcome;
  reason: string | null;
  at: Instant;
  /** The undo command as it ran (secrets as ***), null for a manual undo or none run. */
  command: string | null;
  /** Undo commands started for this step. */
  attempts: number;
}

export interface StepRow {
  step: string;
  /** 1-based place in the runbook. */
  position: number | null;
  title: string;
  /** null: started, no outcome recorded. */
  outcome: StepOutcome | null;
  reason: string | null;
  start: Instant | null;
  /** When its outcome was recorded. */
  end: Instant | null;
  durationMs: number | null;
  /** Commands started for this step (rehearsed ones not counted). */
  attempts: number;
  rehearsed: boolean;
  /** The last attempt's result, null for a manual step. */
  last: LastAttempt | null;
}

export interface FailedAttempt {
  step: string;
  position: number | null;
  title: string;
  attempt: number;
  command: string;
  /** When the command started; null if its start was not journalled. */
  startedAt: Instant | null;
  /** When it finished. */
  at: Instant;
  result: AttemptResult;
  /** Last lines of output, secrets as ***. */
  tail: string;
  outputBytes: number;
  /** The tail was read from the command's log file: the journal had none (drbook stopped while it ran). */
  tailFromLog: boolean;
}

export interface EditedCommand {
  step: string;
  position: number | null;
  title: string;
  /** The attempt the edited command ran as. */
  attempt: number;
  at: Instant;
  from: string;
  to: string;
}

/** A step skipped or done by hand. */
export interface StepAside {
  step: string;
  position: number | null;
  title: string;
  /** When its outcome was recorded. */
  at: Instant;
  reason: string | null;
}

export interface StepTiming {
  step: string;
  position: number | null;
  title: string;
  durationMs: number;
  /** Median of the same step in earlier sessions of this runbook in the same mode. */
  medianMs: number;
  sessions: number;
}

export interface NoteItem {
  at: Instant;
  /** When it was written down, for a backdated note; null otherwise. */
  notedAt: Instant | null;
  by: string;
  step: string | null;
  stepTitle: string | null;
  source: 'walk' | 'cli';
  text: string;
}

export interface VarItem {
  name: string;
  /** *** for a secret. */
  value: string;
  secret: boolean;
  source: VarSource;
  step: string | null;
  at: Instant;
}

/** A notification sink of the session and how much of the timeline it received. */
export interface NotifiedSink {
  sink: string;
  type: string;
  /** Events it was to receive, delivered so far, and still waiting. */
  selected: number;
  sent: number;
  waiting: number;
  stopped?: string;
}

export interface ExportReport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  session: string;
  runbook: { id: string; title: string; path: string; sha256: string; steps: number; rto: string | null };
  mode: Mode;
  operator: { user: string; host: string };
  drbook: string;
  timeZone: {
    name: string;
    /** `session`: the zone recorded at the start; `option`: given with --tz. */
    source: 'session' | 'option';
    sessionZone: string;
    offsetAtStart: string;
    offsetAtEnd: string;
  };
  start: Instant;
  /** session.ended, or null when the session did not finish. */
  end: Instant | null;
  /** The last event: equals `end` when finished. */
  lastEvent: Instant;
  status: SessionStatus;
  /**
   * First event to session.ended (or to the last event when it has not ended), pauses
   * included; the time the clock was set back during it added back.
   */
  totalMs: number;
  /** Present when the machine's clock was set back during the session: by how much in all. */
  clockWentBackMs?: number;
  pausedMs: number;
  resumes: number;
  rto: RtoCheck | null;
  steps: StepCounts;
  journal: {
    events: number;
    finalHash: string | null;
    chainVerifies: boolean;
    /** 1-based event whose `prev` does not match, when the chain is broken. */
    brokenAt: number | null;
  };
  chronology: Moment[];
  stepRows: StepRow[];
  /** Notification sinks of the session and what each received (absent when it had none). */
  notify?: NotifiedSink[];
  deviations: {
    failedAttempts: FailedAttempt[];
    editedCommands: EditedCommand[];
    skippedSteps: StepAside[];
    markedDone: StepAside[];
    timing: StepTiming[];
  };
  notes: NoteItem[];
  vars: VarItem[];
  /** Present when the session was (partly) undone: each undo, in the order walked. */
  rolledBack?: RolledBackStep[];
  /** Milestones and the durations between them. */
  keyTimes: KeyTimes;
  /** The data-loss window against the RPO; null when the runbook names no recovery_point. */
  recoveryPoint: RecoveryPointCheck | null;
  /** Files attached with drbook attach, in the order they were attached. */
  evidence: EvidenceItem[];
  /** Steps skipped by their `when:`: not deviations, the runbook said so. */
  notApplicable: StepAside[];
}

export interface EvidenceItem {
  /** Relative to the session directory. */
  file: string;
  name: string;
  sha256: string;
  bytes: number;
  at: Instant;
  notedAt: Instant | null;
  step: string | null;
  stepTitle: string | null;
  note: string | null;
  by: string;
}

export interface ReportOptions {
  /** IANA zone for every time shown; the session's own zone when absent. Validated by the caller. */
  timeZone?: string;
  /**
   * Summaries of other sessions (see summarizeDrill). Those of the same runbook and mode
   * that started before this one give each step's median time.
   */
  earlier?: readonly DrillSummary[];
  /**
   * The tail of a command's output log (path relative to the session directory, as journaled),
   * for an attempt drbook stopped during: the journal has no output for it. Null when unreadable.
   */
  logTail?: (log: string) => { tail: string; bytes: number; lastWriteMs: number } | null;
  /** The session's notification sinks (format 1.1): the export says which received the timeline. */
  notify?: readonly NotifiedSink[];
  /** A live drbook holds the session's lock: it is running, not interrupted. */
  driving?: boolean;
}

export function buildReport(journal: Pick<ParsedJournal, 'events' | 'lines'>, options: ReportOptions = {}): ExportReport {
  // `until:` attempts read the same in the compact form and in the three-event one.
  const events = asCommandEvents(journal.events);
  const analysis = analyze(events, options.driving === true);
  const { started } = analysis;
  // A journal that says UTC with an offset not 0 was written under a POSIX TZ: its offset is the zone.
  const zone = options.timeZone ?? sessionZone(started.tz, started.tzOffsetMinutes);
  // The offset the session recorded stands in for a zone this node's Intl does not know.
  const clock = new ZoneClock(zone, options.timeZone === undefined ? started.tzOffsetMinutes : 0);
  const instant = (iso: string): Instant => toInstant(clock, iso);
  const clean = cleaner(events);
  const chain = verifyChain(journal);

  const titles = new Map<string, string>();
  for (const row of analysis.steps.values()) titles.set(row.step, clean(row.title));
  const titleOf = (step: string | undefined): string => (step === undefined ? '' : (titles.get(step) ?? step));
  const positionOf = (step: string | undefined): number | null => {
    const index = step === undefined ? undefined : analysis.steps.get(step)?.index;
    return index === undefined || index === null ? null : index + 1;
  };

  const chronology = buildChronology(events, analysis.commands, instant, clean, titleOf, positionOf, analysis.clock, options.logTail);

  const stepRows: StepRow[] = [...analysis.steps.values()].map((row) => ({
    step: row.step,
    position: positionOf(row.step),
    title: clean(row.title),
    outcome: row.outcome,
    reason: row.reason === null ? null : clean(row.reason),
    start: row.startTs === null ? null : instant(row.startTs),
    end: row.endTs === null ? null : instant(row.endTs),
    durationMs: row.durationMs,
    attempts: row.attempts,
    rehearsed: row.rehearsed,
    last: row.last,
  }));

  // Looked up by seq, not searched: a long session has thousands of failed attempts (polls).
  const finishedBySeq = new Map<number, Extract<Moment, { kind: 'command.finished' }>>();
  for (const moment of chronology) if (moment.kind === 'command.finished' && !finishedBySeq.has(moment.seq)) finishedBySeq.set(moment.seq, moment);
  const deviations: ExportReport['deviations'] = {
    failedAttempts: analysis.failedAttempts.map((f) => {
      const finished = finishedBySeq.get(f.seq);
      const started = analysis.commands.get(attemptKey(f.step, f.attempt));
      return {
        step: f.step,
        position: positionOf(f.step),
        title: titleOf(f.step),
        attempt: f.attempt,
        command: clean(started?.command ?? ''),
        startedAt: started === undefined ? null : instant(started.ts),
        at: instant(f.ts),
        result: { ...attemptResult(f), ...ranFor(finished, f), reason: f.reason === undefined ? null : clean(f.reason) },
        ...fromLog(f, started?.log, options.logTail, clean),
      };
    }),
    editedCommands: analysis.edits.map((e) => ({
      step: e.step,
      position: positionOf(e.step),
      title: titleOf(e.step),
      attempt: e.attempt,
      at: instant(e.ts),
      from: clean(e.from),
      to: clean(e.to),
    })),
    skippedSteps: asides(stepRows, 'skipped').filter((s) => !byWhen(s)),
    markedDone: asides(stepRows, 'marked-done'),
    timing: timings(analysis, options.earlier ?? [], titleOf, positionOf),
  };

  const ofKind = <K extends Moment['kind']>(kind: K) => chronology.filter((m): m is Extract<Moment, { kind: K }> => m.kind === kind);
  const stepTitleOf = (step: string | null): string | null => (step === null ? null : titleOf(step));
  const notes: NoteItem[] = ofKind('note').map((m) => ({
    at: m.at,
    notedAt: m.notedAt,
    by: m.by,
    step: m.step,
    stepTitle: stepTitleOf(m.step),
    source: m.source,
    text: m.text,
  }));
  const vars: VarItem[] = ofKind('var.set').map((m) => ({ name: m.name, value: m.value, secret: m.secret, source: m.source, step: m.step, at: m.at }));
  const evidence: EvidenceItem[] = ofKind('evidence').map((m) => ({
    file: m.file,
    name: m.name,
    sha256: m.sha256,
    bytes: m.bytes,
    at: m.at,
    notedAt: m.notedAt,
    step: m.step,
    stepTitle: stepTitleOf(m.step),
    note: m.note,
    by: m.by,
  }));

  const endTs = analysis.ended?.ts ?? analysis.lastTs;
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    session: started.session,
    runbook: {
      id: started.runbook.id,
      title: clean(started.runbook.title),
      path: clean(started.runbook.path),
      sha256: started.runbook.sha256,
      steps: started.runbook.steps,
      rto: started.runbook.rto ?? null,
    },
    mode: started.mode,
    operator: { user: clean(started.operator.user), host: clean(started.operator.host) },
    drbook: started.drbook,
    timeZone: {
      name: clock.zone,
      source: options.timeZone === undefined ? 'session' : 'option',
      sessionZone: started.tz,
      offsetAtStart: clock.wall(Date.parse(analysis.firstTs)).offset,
      offsetAtEnd: clock.wall(Date.parse(endTs)).offset,
    },
    start: instant(analysis.firstTs),
    end: analysis.ended === null ? null : instant(analysis.ended.ts),
    lastEvent: instant(analysis.lastTs),
    status: analysis.status,
    totalMs: analysis.totalMs,
    ...(analysis.clock.backMs > 0 ? { clockWentBackMs: analysis.clock.backMs } : {}),
    pausedMs: analysis.pausedMs,
    resumes: analysis.resumes,
    rto: analysis.rto,
    steps: analysis.counts,
    journal: {
      events: journal.events.length,
      finalHash: chain.finalHash,
      chainVerifies: chain.ok,
      brokenAt: chain.brokenAt ?? null,
    },
    chronology,
    stepRows,
    deviations,
    notes,
    vars,
    ...rolledBack(events, instant, clean, titleOf, positionOf),
    keyTimes: keyTimes(analysis, instant, clean),
    recoveryPoint: recoveryPoint(analysis, events, instant),
    evidence,
    notApplicable: asides(stepRows, 'skipped').filter(byWhen),
    ...(options.notify !== undefined && options.notify.length > 0 ? { notify: options.notify.map((n) => ({ ...n })) } : {}),
  };
}

function rolledBack(
  events: readonly JournalEvent[],
  instant: (iso: string) => Instant,
  clean: (text: string) => string,
  titleOf: (step: string | undefined) => string,
  positionOf: (step: string | undefined) => number | null,
): { rolledBack?: RolledBackStep[] } {
  if (!events.some((e) => e.type === 'undo.started')) return {};
  const commands = new Map<string, { command: string; attempts: number }>();
  const out: RolledBackStep[] = [];
  for (const e of events) {
    if (e.type === 'undo.command.started') {
      const seen = commands.get(e.step);
      commands.set(e.step, { command: e.command, attempts: (seen?.attempts ?? 0) + (e.attempt > 0 ? 1 : 0) });
    } else if (e.type === 'undo.step') {
      const ran = commands.get(e.step);
      commands.delete(e.step);
      out.push({
        step: e.step,
        position: positionOf(e.step),
        title: titleOf(e.step),
        outcome: e.outcome,
        reason: e.reason === undefined ? null : clean(e.reason),
        at: instant(e.ts),
        command: ran === undefined ? null : clean(ran.command),
        attempts: ran?.attempts ?? 0,
      });
    }
  }
  return { rolledBack: out };
}

/** Skipped by its `when:` condition (the engine's reason starts so): the runbook's design, not a deviation. */
function byWhen(s: StepAside): boolean {
  return s.reason !== null && s.reason.startsWith('when: ');
}

function toInstant(clock: ZoneClock, iso: string): Instant {
  const ms = Date.parse(iso);
  const wall = clock.wall(ms);
  return { utc: new Date(ms).toISOString(), local: `${wall.date} ${wall.timeSeconds}`, offset: wall.offset };
}

/**
 * Secrets are *** in the journal already. If a secret value ever reached it unmasked (an
 * older writer, a hand-edited file), it is masked here too wherever it appears.
 */
function cleaner(events: readonly JournalEvent[]): (text: string) => string {
  const redactor = new Redactor();
  for (const e of events) {
    if (e.type === 'var.set' && e.secret && e.value !== MASK) redactor.add(e.value);
  }
  return (text) => redactor.redact(text);
}

function buildChronology(
  events: readonly JournalEvent[],
  commands: ReadonlyMap<string, { command: string }>,
  instant: (iso: string) => Instant,
  clean: (text: string) => string,
  titleOf: (step: string | undefined) => string,
  positionOf: (step: string | undefined) => number | null,
  clock: ClockSteps,
  logTail?: ReportOptions['logTail'],
): Moment[] {
  const finished = new Set<string>();
  for (const e of events) if (e.type === 'command.finished') finished.add(attemptKey(e.step, e.attempt));
  // Gaps while drbook was stopped, to take out of the duration of a command settled on resume.
  const gaps = events.flatMap((e) => (e.type === 'session.resumed' ? [{ ms: Date.parse(e.ts), gapMs: Math.max(0, e.gapMs) }] : []));
  const startedAt = new Map<string, number>();
  for (const e of events) if (e.type === 'command.started') startedAt.set(attemptKey(e.step, e.attempt), Date.parse(e.ts));
  const ranFor = (e: Extract<JournalEvent, { type: 'command.finished' }>): { durationMs: number; stoppedWithDrbook: boolean } => {
    const from = startedAt.get(attemptKey(e.step, e.attempt));
    if (from === undefined) return { durationMs: e.durationMs, stoppedWithDrbook: false };
    const to = Date.parse(e.ts);
    const within = gaps.filter((g) => g.ms > from && g.ms <= to);
    if (within.length === 0) return { durationMs: e.durationMs, stoppedWithDrbook: false };
    const stopped = within.reduce((sum, g) => sum + g.gapMs, 0);
    // Its output log was written until the command ended (or drbook with it): a better bound.
    const log = commandLogs.get(attemptKey(e.step, e.attempt));
    const lastWrite = log === undefined ? undefined : logTail?.(log)?.lastWriteMs;
    const firstGap = within[0]!;
    const droppedAt = firstGap.ms - firstGap.gapMs;
    const until = lastWrite !== undefined && lastWrite > from && lastWrite <= firstGap.ms ? Math.max(lastWrite, droppedAt) : droppedAt;
    return { durationMs: Math.max(0, e.durationMs - stopped, until - from), stoppedWithDrbook: true };
  };
  const commandLogs = new Map<string, string>();
  for (const e of events) if (e.type === 'command.started' && e.log !== undefined) commandLogs.set(attemptKey(e.step, e.attempt), e.log);
  // The driver's last event before each resume: a resume not after a pause means drbook was dropped.
  let lastDriver: JournalEvent | undefined;
  const droppedBefore = new Map<number, string>();
  for (const e of events) {
    if (e.type === 'session.resumed' && lastDriver !== undefined && lastDriver.type !== 'session.paused' && lastDriver.type !== 'session.ended')
      droppedBefore.set(e.seq, lastDriver.ts);
    const fromOutside = e.type === 'note' || e.type === 'evidence' || e.type.startsWith('notify.') || (e.type === 'milestone' && e.source === 'cli');
    if (!fromOutside) lastDriver = e;
  }
  // A note, mark or attachment given a valid --at happened then; it was written down at its ts.
  const backdating = (base: MomentBase, at: string | undefined): { at: Instant; notedAt: Instant | null } =>
    at !== undefined && Number.isFinite(Date.parse(at)) ? { at: instant(at), notedAt: base.at } : { at: base.at, notedAt: null };
  const keyed: { ms: number; order: number; moment: Moment }[] = [];
  const toldBack = new Set<number>();
  events.forEach((e, order) => {
    const step = 'step' in e && typeof e.step === 'string' ? e.step : undefined;
    const base: MomentBase = { at: instant(e.ts), seq: e.seq, step: step ?? null, position: positionOf(step) };
    const back = clock.back.get(e.seq);
    if (back !== undefined && !toldBack.has(e.seq)) {
      toldBack.add(e.seq);
      base.clockWentBackMs = back;
    }
    let moment: Moment | undefined;
    switch (e.type) {
      case 'session.started':
        moment = { ...base, kind: e.type, mode: e.mode, operator: clean(`${e.operator.user}@${e.operator.host}`), from: e.from ?? null };
        break;
      case 'var.set':
        moment = { ...base, kind: e.type, name: e.name, value: e.secret ? MASK : clean(e.value), source: e.source, secret: e.secret === true };
        break;
      case 'step.started':
        moment = { ...base, kind: e.type, title: titleOf(e.step) };
        break;
      case 'step.finished':
        moment = {
          ...base,
          kind: e.type,
          title: titleOf(e.step),
          outcome: e.outcome,
          reason: e.reason === undefined ? null : clean(e.reason),
          durationMs: e.durationMs,
        };
        break;
      case 'command.started':
        moment = { ...base, kind: e.type, attempt: e.attempt, command: clean(e.command), finished: finished.has(attemptKey(e.step, e.attempt)) };
        break;
      case 'command.finished':
        moment = {
          ...base,
          kind: e.type,
          attempt: e.attempt,
          command: clean(commands.get(attemptKey(e.step, e.attempt))?.command ?? ''),
          ...attemptResult(e),
          ...ranFor(e),
          reason: e.reason === undefined ? null : clean(e.reason),
        };
        break;
      case 'command.rehearsed':
        moment = { ...base, kind: e.type, command: clean(e.command) };
        break;
      case 'command.edited':
        moment = { ...base, kind: e.type, attempt: e.attempt, from: clean(e.from), to: clean(e.to) };
        break;
      case 'decision':
        moment = { ...base, kind: e.type, question: clean(e.question), answer: clean(e.answer), ...(e.by === '--yes' ? { by: e.by } : {}) };
        break;
      case 'note': {
        const { at, notedAt } = backdating(base, e.at);
        moment = { ...base, at, kind: e.type, text: clean(e.text), by: clean(e.by), source: e.source, notedAt };
        break;
      }
      case 'milestone': {
        const { at, notedAt } = backdating(base, e.at);
        const text = e.text === undefined ? null : clean(e.text);
        moment = { ...base, at, kind: e.type, name: e.milestone, text, by: clean(e.by), source: e.source, notedAt };
        break;
      }
      case 'evidence': {
        const { at, notedAt } = backdating(base, e.at);
        const note = e.note === undefined ? null : clean(e.note);
        moment = { ...base, at, kind: e.type, file: clean(e.file), name: clean(e.name), sha256: e.sha256, bytes: e.bytes, note, by: clean(e.by), notedAt };
        break;
      }
      case 'session.paused':
        moment = { ...base, kind: e.type, reason: clean(e.reason) };
        break;
      case 'session.resumed': {
        const dropped = droppedBefore.get(e.seq);
        moment = {
          ...base,
          kind: e.type,
          gapMs: e.gapMs,
          runbookChanged: e.runbookChanged ?? null,
          droppedAfter: dropped === undefined ? null : instant(dropped),
          ...(e.reopened ? { reopened: true as const } : {}),
          ...(e.runbookPath ? { runbookPath: e.runbookPath } : {}),
        };
        break;
      }
      case 'session.ended':
        moment = { ...base, kind: e.type, status: e.status, ...(e.reason ? { reason: clean(e.reason) } : {}) };
        break;
      case 'command.spawned':
        // A pid matters to resume, not to the people reading the post-mortem.
        break;
    }
    // Where the clock went back, journal order holds: each time is shifted by the steps back
    // before it (a backdated moment keeps the time the operator gave).
    if (moment) {
      const backdated = 'notedAt' in moment && moment.notedAt !== null;
      keyed.push({ ms: Date.parse(moment.at.utc) + (backdated ? 0 : (clock.shift.get(e.seq) ?? 0)), order, moment });
    }
  });
  // Array.prototype.sort is stable: equal instants keep journal order.
  keyed.sort((a, b) => a.ms - b.ms || a.order - b.order);
  return keyed.map((k) => k.moment);
}

/** The attempt's duration as the chronology has it (a gap while drbook was stopped taken out). */
function ranFor(
  moment: Extract<Moment, { kind: 'command.finished' }> | undefined,
  f: Extract<JournalEvent, { type: 'command.finished' }>,
): Pick<AttemptResult, 'durationMs' | 'stoppedWithDrbook'> {
  return moment !== undefined
    ? { durationMs: moment.durationMs, stoppedWithDrbook: moment.stoppedWithDrbook }
    : { durationMs: f.durationMs, stoppedWithDrbook: false };
}

function attemptResult(e: Extract<JournalEvent, { type: 'command.finished' }>): AttemptResult {
  return {
    exitCode: e.exitCode,
    signal: e.signal,
    ok: e.ok,
    durationMs: e.durationMs,
    timedOut: e.timedOut === true,
    interrupted: e.interrupted === true,
    reason: e.reason ?? null,
    ...(e.poll ? { poll: { attempt: e.poll.attempt, elapsedMs: e.poll.elapsedMs } } : {}),
    stoppedWithDrbook: false,
  };
}

/** The journaled tail, or for an attempt with none (drbook stopped while it ran) its log's. */
function fromLog(
  f: Extract<JournalEvent, { type: 'command.finished' }>,
  log: string | undefined,
  logTail: ReportOptions['logTail'],
  clean: (text: string) => string,
): { tail: string; outputBytes: number; tailFromLog: boolean } {
  if (f.tail.trim() !== '' || log === undefined || logTail === undefined) return { tail: clean(f.tail), outputBytes: f.outputBytes, tailFromLog: false };
  const read = logTail(log);
  if (read === null || read.tail.trim() === '') return { tail: clean(f.tail), outputBytes: f.outputBytes, tailFromLog: false };
  return { tail: clean(read.tail), outputBytes: read.bytes, tailFromLog: true };
}

function asides(rows: readonly StepRow[], outcome: StepOutcome): StepAside[] {
  const out: StepAside[] = [];
  for (const row of rows) {
    const at = row.end ?? row.start;
    if (row.outcome !== outcome || at === null) continue;
    out.push({ step: row.step, position: row.position, title: row.title, at, reason: row.reason });
  }
  return out;
}

function timings(
  analysis: Analysis,
  earlier: readonly DrillSummary[],
  titleOf: (step: string) => string,
  positionOf: (step: string) => number | null,
): StepTiming[] {
  const startMs = Date.parse(analysis.firstTs);
  const comparable = earlier.filter(
    (s) =>
      s.runbook.id === analysis.started.runbook.id &&
      s.session !== analysis.started.session &&
      s.mode === analysis.started.mode &&
      Date.parse(s.start) < startMs,
  );
  // A --yes drill takes each step at a script's pace (medians of 0 s): compared with only when
  // every session, this one included, was one.
  const thisYes = analysis.started.yes === true;
  const people = comparable.filter((s) => !s.yes);
  const reference = thisYes && people.length === 0 ? comparable : people;
  if (reference.length === 0) return [];
  const out: StepTiming[] = [];
  for (const [step, durationMs] of Object.entries(analysis.stepDurations)) {
    const before = reference.map((s) => s.stepDurations[step]).filter((d): d is number => d !== undefined);
    if (before.length === 0) continue;
    out.push({ step, position: positionOf(step), title: titleOf(step), durationMs, medianMs: median(before), sessions: before.length });
  }
  return out;
}
