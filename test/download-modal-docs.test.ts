// docs/download-modal.md and the README are the modal's contract for app developers: the pictures
// must exist (and none be left unused), the list of ::part() names must cover the element's, and
// the README's renderer example must compile against the element's and the bridge's built types.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { typeErrorsOf } from './helpers/typecheck.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const doc = await readFile(`${root}docs/download-modal.md`, 'utf8');

test('the modal doc shows every screenshot the browser tests make, and only existing ones', async () => {
  const referenced = new Set([...doc.matchAll(/\]\(images\/([\w-]+\.png)\)/g)].map((match) => match[1]));
  const files = (await readdir(`${root}docs/images`)).filter((name) => name.startsWith('download-modal-'));
  assert.deepEqual([...referenced].sort(), files.sort());
  const test = await readFile(`${root}test/download-modal.test.ts`, 'utf8');
  for (const phase of ['ready-to-download', 'downloading', 'offline', 'retry-wait', 'failed', 'ready']) {
    assert.ok(referenced.has(`download-modal-${phase}.png`), `no screenshot of ${phase}`);
  }
  assert.match(test, /MODELHAUL_UPDATE_SCREENSHOTS/);
});

test('the modal doc lists every part name of the element', async () => {
  const source = await readFile(`${root}src/ui/download-dom.ts`, 'utf8');
  const fixed = [...source.matchAll(/part: '([\w -]+)'/g)].flatMap((match) => (match[1] ?? '').split(' '));
  const buttons = [...source.matchAll(/part: `button button-\$\{id\}`/g)].length > 0;
  assert.ok(buttons, 'the buttons no longer have per-button parts');
  const section = doc.slice(doc.indexOf('Parts, for'), doc.indexOf('```css'));
  const documented = new Set([...section.matchAll(/`([\w-]+)`/g)].map((match) => match[1]));
  for (const part of new Set(fixed)) assert.ok(documented.has(part), `part "${part}" is not documented`);
  for (const id of ['download', 'pause', 'resume', 'cancel', 'retry', 'retryNow', 'background', 'notNow', 'done']) {
    assert.ok(documented.has(`button-${id}`), `part "button-${id}" is not documented`);
  }
});

test("the README's Electron renderer type-checks against modelhaul/ui and modelhaul/preload as built", async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## In an Electron app'), readme.indexOf('## Error codes'));
  const example = /```ts\n(\/\/ renderer\.ts\n[\s\S]*?)```/.exec(section)?.[1];
  assert.ok(example, 'the section has a renderer.ts example');
  // The app's own function the example calls.
  const code = `declare function enableDictation(): void;\n${example}`;
  const lib = ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'];
  assert.deepEqual(await typeErrorsOf(`${root}readme-electron-renderer.mts`, code, { lib, types: [] }), []);
});
