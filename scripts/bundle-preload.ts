// Run by `npm run build` after tsc: builds dist/preload.cjs, the file an Electron app names as a
// window's preload script (`modelhaul/preload`). A sandboxed preload gets a `require` that knows
// only a few of Electron's own modules, and cannot load an ES module: so the preload is one
// CommonJS file with everything of ours inlined and `electron` its only import.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'src', 'electron', 'preload.ts')],
  outfile: join(root, 'dist', 'preload.cjs'),
  bundle: true,
  format: 'cjs',
  // A renderer, not Node: no Node built-in may sneak in.
  platform: 'browser',
  target: 'es2022',
  external: ['electron'],
  metafile: true,
  logLevel: 'warning',
});

const imports = Object.values(metafile.outputs).flatMap((output) => output.imports.map((entry) => entry.path));
const foreign = imports.filter((path) => path !== 'electron');
if (foreign.length > 0) throw new Error(`bundle-preload: the preload must require nothing but electron, found ${foreign.join(', ')}`);
