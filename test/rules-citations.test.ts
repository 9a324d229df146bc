// Code, tests and docs cite the rules modelhaul follows by number ("rule 21", "rules 5, 6 and 9").
// Every such citation must resolve: the file says where the rules are (docs/rules.md), and every
// number it cites is a rule there.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RULES_FILE = join(ROOT, 'docs', 'rules.md');

/** The numbers of the rules in docs/rules.md: each starts a paragraph as `**N. Title.**`. */
async function ruleNumbers(): Promise<Set<number>> {
  const text = await readFile(RULES_FILE, 'utf8');
  return new Set([...text.matchAll(/^\*\*(\d+)\. /gm)].map((match) => Number(match[1])));
}

/** The files that may cite rules: sources, tests, benchmark, scripts and the docs. */
async function citingFiles(): Promise<string[]> {
  const files: string[] = [join(ROOT, 'README.md')];
  for (const folder of ['src', 'test', 'bench', 'scripts', 'docs']) {
    for (const entry of await readdir(join(ROOT, folder), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.(ts|md)$/.test(entry.name)) files.push(join(entry.parentPath, entry.name));
    }
  }
  return files.filter((file) => file !== RULES_FILE && file !== fileURLToPath(import.meta.url));
}

/** Every rule number cited in `text`: "rule 7", "rules 21, 22", "rules 5, 6, 9 and 10", "rules 1-4", "rule 11/12". */
export function citedRules(text: string): number[] {
  const cited: number[] = [];
  for (const match of text.matchAll(/\brules? (\d+(?:(?:, | and |-|–|\/)\d+)*)/g)) {
    for (const part of match[1]!.split(/, | and |\//)) {
      const [from, to] = part.split(/-|–/).map(Number) as [number, number | undefined];
      for (let n = from; n <= (to ?? from); n++) cited.push(n);
    }
  }
  return cited;
}

test('the citation parser reads single rules, lists, ranges and pairs', () => {
  assert.deepEqual(citedRules('(rule 7) and rules 5, 6, 9 and 10; rules 1-4; rule 11/12; the rule of thumb'), [7, 5, 6, 9, 10, 1, 2, 3, 4, 11, 12]);
});

test('every "rule N" in code, tests and docs is a rule of docs/rules.md, and the file says so', async () => {
  const rules = await ruleNumbers();
  assert.ok(rules.size >= 30, `docs/rules.md has ${rules.size} numbered rules`);
  const problems: string[] = [];
  let citations = 0;
  for (const file of await citingFiles()) {
    const text = await readFile(file, 'utf8');
    const cited = citedRules(text);
    if (cited.length === 0) continue;
    citations += cited.length;
    const name = relative(ROOT, file);
    if (!text.includes('rules.md')) problems.push(`${name} cites rules but never names docs/rules.md`);
    for (const number of new Set(cited)) if (!rules.has(number)) problems.push(`${name} cites rule ${number}, which docs/rules.md does not have`);
  }
  assert.deepEqual(problems, []);
  assert.ok(citations > 80, `${citations} citations found`);
});
