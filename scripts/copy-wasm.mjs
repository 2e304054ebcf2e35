#!/usr/bin/env node
// Part of `npm run build`: the bash parser's two .wasm files into dist/wasm/, where the
// compiled code and bin's bundle (dist/drbook.cjs) find them at run time: the runtime from
// web-tree-sitter, the grammar from vendor/tree-sitter-bash/ (why it is vendored: its
// README.md).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const out = join(root, 'dist', 'wasm');
mkdirSync(out, { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm'), join(out, 'tree-sitter.wasm'));
copyFileSync(join(root, 'vendor', 'tree-sitter-bash', 'tree-sitter-bash.wasm'), join(out, 'tree-sitter-bash.wasm'));
