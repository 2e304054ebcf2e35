#!/usr/bin/env node
// Part of `npm run build`: the bash parser's two .wasm files into dist/wasm/, where the
// compiled code and bin's bundle (dist/drbook.cjs) find them at run time. Only these
// 1.5 MB are needed, not the 20 MB tree-sitter-bash package.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const out = join(root, 'dist', 'wasm');
mkdirSync(out, { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm'), join(out, 'tree-sitter.wasm'));
copyFileSync(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'), join(out, 'tree-sitter-bash.wasm'));
