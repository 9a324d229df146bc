import { listBundles } from '../../operations/bundles.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { formatBytes } from '../format.js';
import { DEFAULT_BUNDLE } from '../options.js';
import { table } from '../render/table.js';
import type { BundlesCommandOptions } from './bundles.js';

export function runBundles(options: BundlesCommandOptions, context: CliContext): number {
  const bundles = listBundles();
  if (options.json) {
    context.out(JSON.stringify({ event: 'bundles', default: DEFAULT_BUNDLE, bundles }) + '\n');
  } else {
    for (const bundle of bundles) {
      const isDefault = bundle.name === DEFAULT_BUNDLE ? context.paint('dim', ' (default)') : '';
      const count = `${bundle.artifactCount} ${bundle.artifactCount === 1 ? 'artifact' : 'artifacts'}`;
      context.out(`${context.paint('bold', bundle.name)}${isDefault}  ${count}, ${formatBytes(bundle.totalSize)}\n`);
      if (bundle.description !== undefined) context.out(`  ${bundle.description}\n`);
      const rows = bundle.artifacts.map((a) => [a.kind, a.label, formatBytes(a.size), a.id]);
      context.out(table(['KIND', 'LABEL', 'SIZE', 'ID'], rows).replace(/^/gm, '  ') + '\n\n');
    }
    context.out(`Install one with \`modelhaul install --bundle NAME\`; without --bundle, ${DEFAULT_BUNDLE} is installed.\n`);
  }
  return EXIT.ok;
}
