import { Parser, Language } from 'web-tree-sitter';
const t0 = performance.now();
await Parser.init();
const lang = await Language.load('../node_modules/tree-sitter-bash/tree-sitter-bash.wasm');
const p = new Parser(); p.setLanguage(lang);
console.log('init ms', performance.now()-t0);
const samples = [
 'echo PH0 "a PH1" \'b PH2\' $\'c PH3\' # PH4 it\'s',
 'x=$(( PH0 + 1 )); (( PH1 > 0 )); [[ PH2 -gt 0 ]]; let PH3; declare -i n=PH4; a[PH5]=1; echo ${a[PH6]}; [[ -v PH7 ]]',
 "cat <<'E-F'\nPH0\nE-F\ncat <<-X\n\tPH1 é\n\tX\necho `PH2` $(echo PH3)",
 'echo é PH0',
];
for (const s of samples) {
  const tree = p.parse(s);
  for (const m of s.matchAll(/PH\d/g)) {
    let n = tree.rootNode.descendantForIndex(m.index, m.index + 3);
    const chain = [];
    for (let c = n; c; c = c.parent) chain.push(c.type);
    console.log(m[0], m.index, n.startIndex, chain.join('<'));
  }
  console.log(tree.rootNode.hasError);
}
