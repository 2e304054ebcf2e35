/** Kept equal to package.json by a test; a constant so the single-file build needs no package.json. */
export const VERSION = '0.1.0';
