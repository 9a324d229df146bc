// Writes the README's error table from src/error-codes.ts, the single source of every code's
// meaning, retry behaviour and default hint. test/readme.test.ts regenerates the table and fails
// when the README differs, so a changed hint cannot drift from what modelhaul prints:
//
//   node --import tsx scripts/readme-error-table.ts          # rewrite the table in README.md
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ALL_ERROR_CODES, ERROR_CODES } from '../src/error-codes.js';

export const TABLE_START = '<!-- error table: generated from src/error-codes.ts by scripts/readme-error-table.ts -->';
export const TABLE_END = '<!-- end of the generated error table -->';

/** The table, between its two markers, exactly as it belongs in the README. */
export function errorTable(): string {
  const rows = ALL_ERROR_CODES.map((code) => {
    const { meaning, retried, hint } = ERROR_CODES[code];
    return `| \`${code}\` | ${cell(meaning)} | ${cell(retried)} | ${cell(hint)} |`;
  });
  return [TABLE_START, '| code | meaning | retried by the engine | hint shown |', '| --- | --- | --- | --- |', ...rows, TABLE_END].join('\n');
}

/** `readme` with its generated table replaced by the current one. */
export function withErrorTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no generated error table (looked for "${TABLE_START}" and "${TABLE_END}")`);
  return readme.slice(0, start) + errorTable() + readme.slice(end + TABLE_END.length);
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = fileURLToPath(new URL('../README.md', import.meta.url));
  const readme = await readFile(file, 'utf8');
  const updated = withErrorTable(readme);
  if (updated !== readme) await writeFile(file, updated);
  console.log(updated === readme ? 'README.md: the error table is up to date' : 'README.md: error table rewritten');
}
