export { buildDraft, consoleCommands, isTranscript, PROMPT, type Draft, type DraftOptions, type DraftStep, type SourceDoc } from './draft.js';
export { convertCommand, revertSubstitutions, type ConvertedCommand, type Substitution } from './placeholders.js';
export { renderDraft } from './render.js';
export { asciiSlug, HeadingSlugger, snakeName } from './slug.js';
export { prepareSource, type PreparedSource } from './source.js';
