// Run by `npm run build` after tsc: replaces dist/cli/main.js with a bundle of the CLI, split into
// chunks that each command loads only when it runs (dist/cli/chunks/). Start-up time is the
// point: Node loads one module per file, and zod alone is 95 files, every locale included, where
// its bundle is one tree-shaken chunk of ~200 kB. Measured on a 2-core benchmark machine (medians
// of 20, `node -e 0` at 73 ms): `modelhaul status` 202 ms unbundled, 140 ms bundled.
//
// Bundled: our code and the packages every command loads at start-up. The packages that do the
// work of some commands stay in node_modules, where npm can update them: undici above all, which
// talks to the network, and log-update, loaded only for a terminal. The library (dist/index.js
// and the rest of tsc's output) is untouched, and so is the rest of dist/cli/, an unbundled CLI
// that works the same if a plain `tsc` build overwrites main.js again.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const BUNDLED = ['commander', 'env-paths', 'zod'];

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist', 'cli');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

// src/version.ts reads ../package.json relative to its own file, which a chunk in
// dist/cli/chunks/ is not beside: the bundle gets the version as a constant instead.
let versionInlined = false;
const inlineVersion: Plugin = {
  name: 'inline-version',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => {
      versionInlined = true;
      return { contents: `export const MODELHAUL_VERSION: string = ${JSON.stringify(pkg.version)};`, loader: 'ts' };
    });
  },
};

await rm(join(outdir, 'chunks'), { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  chunkNames: 'chunks/[name]-[hash]',
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name)),
  // commander is CommonJS and requires Node's built-in modules, which an ES module can only do
  // through a require of its own.
  banner: { js: "import { createRequire as __modelhaulCreateRequire } from 'node:module';\nconst require = __modelhaulCreateRequire(import.meta.url);" },
  sourcemap: true,
  sourcesContent: false,
  metafile: true,
  plugins: [inlineVersion],
  logLevel: 'warning',
});
if (!versionInlined) throw new Error('bundle-cli: src/version.ts was not bundled; update the inline-version plugin');

// Every package with code in the bundle (BUNDLED and what they import) has its licence copied
// beside the chunks, as the licences ask of copies.
const packageDirs = new Set(Object.keys(metafile.inputs).flatMap((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? []));
const licences: string[] = [];
for (const dir of [...packageDirs].sort()) {
  const name = (JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as { name: string }).name;
  const file = (await readdir(join(root, dir))).find((entry) => /^licen[cs]e(\.(md|txt))?$/i.test(entry));
  if (file === undefined) throw new Error(`bundle-cli: ${name} is bundled but has no licence file in ${dir}`);
  licences.push(`${name}\n${'='.repeat(name.length)}\n\n${(await readFile(join(root, dir, file), 'utf8')).trim()}\n`);
}
await writeFile(join(outdir, 'chunks', 'THIRD-PARTY-LICENSES.txt'), `The chunks in this folder include code from these packages.\n\n${licences.join('\n')}`);
