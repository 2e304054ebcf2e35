import type { CommandResult, StepView, Ui, VarQuestion } from './ports.js';
import { visible, visibleLine } from './visible.js';

/**
 * A Ui whose every string from a runbook, a journal or a captured value is made `visible`
 * before the real Ui draws it: the one output boundary of the walk, so no adapter has to
 * remember it. Answers pass back unchanged.
 */
export function visibleUi(ui: Ui): Ui {
  return {
    showStep: (view) => ui.showStep(visibleView(view)),
    chooseStepAction: (view, choices) => ui.chooseStepAction(visibleView(view), choices),
    chooseFailureAction: (view, failure, choices, options) => ui.chooseFailureAction(visibleView(view), visible(failure), choices, options),
    confirm: (question) => ui.confirm(visible(question)),
    askVar: (question) => askVisible(ui, question),
    askText: async (message, initial) => {
      if (initial === undefined) return ui.askText(visible(message));
      // An edit prefilled with the shown command and left as it was is the command itself.
      const answer = await ui.askText(visible(message), visible(initial));
      return answer === visible(initial) ? initial : answer;
    },
    ...(ui.editCommand
      ? {
          editCommand: async (message: string, initial: string) => {
            // As askText: the editor shows control characters made visible; left as it was, it is the command itself.
            const answer = await ui.editCommand!(visible(message), visible(initial));
            if (answer === undefined) return undefined;
            return answer.trim() === visible(initial).trim() ? initial : answer;
          },
        }
      : {}),
    info: (message) => ui.info(visible(message)),
    warn: (message) => ui.warn(visible(message)),
    commandStarting: (view) => ui.commandStarting(visibleView(view)),
    waitUntil: (view, wait) => ui.waitUntil(visibleView(view), wait),
    commandFinished: (view, result: CommandResult) =>
      ui.commandFinished(visibleView(view), result.spawnError === undefined ? result : { ...result, spawnError: visible(result.spawnError) }),
  };
}

function visibleView(view: StepView): StepView {
  return {
    ...view,
    title: visibleLine(view.title),
    ...(view.description !== undefined ? { description: visible(view.description) } : {}),
    ...(view.command !== undefined ? { command: visible(view.command) } : {}),
    ...(view.cwd !== undefined ? { cwd: visible(view.cwd) } : {}),
    docs: view.docs.map((doc) => ({
      ...doc,
      title: visibleLine(doc.title),
      ...(doc.url !== undefined ? { url: visible(doc.url) } : {}),
      ...(doc.path !== undefined ? { path: visible(doc.path) } : {}),
      ...(doc.anchor !== undefined ? { anchor: visible(doc.anchor) } : {}),
      ...(doc.key !== undefined ? { key: visible(doc.key) } : {}),
    })),
    step: {
      ...view.step,
      title: visibleLine(view.step.title),
      ...(view.step.description !== undefined ? { description: visible(view.step.description) } : {}),
    },
  };
}

/**
 * The question with its labels, choices and default made visible; an answer that is the
 * shown form of a choice or of the default is mapped back to the real value.
 */
async function askVisible(ui: Ui, question: VarQuestion): Promise<string> {
  const { def } = question;
  const raw = new Map<string, string>();
  const show = (value: string): string => {
    const shown = visible(value);
    if (shown !== value) raw.set(shown, value);
    return shown;
  };
  const back = (answer: string): string => raw.get(answer) ?? answer;
  const choices =
    def.choices === undefined
      ? undefined
      : Array.isArray(def.choices)
        ? def.choices.map((c) => (typeof c === 'string' ? show(c) : c))
        : Object.fromEntries(Object.entries(def.choices).map(([k, v]) => [show(k), visible(String(v))]));
  const answer = await ui.askVar({
    ...question,
    name: visible(question.name),
    def: {
      ...def,
      ...(def.prompt !== undefined ? { prompt: visibleLine(def.prompt) } : {}),
      ...(def.description !== undefined ? { description: visible(def.description) } : {}),
      ...(choices !== undefined ? { choices } : {}),
    } as typeof def,
    validate: (value) => question.validate(back(value)),
    ...(question.initial !== undefined ? { initial: show(question.initial) } : {}),
  });
  return back(answer);
}
