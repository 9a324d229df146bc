import type { Command } from 'commander';
import { listBundles } from '../../bundle-list.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { formatBytes } from '../format.js';
import { table } from '../render/table.js';
import { DEFAULT_BUNDLE } from '../target.js';

export function registerBundles(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('bundles')
    .description('list the built-in bundles: what each installs and how much it downloads')
    .option('--json', 'print the bundles as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ modelhaul bundles
  $ modelhaul install --bundle voice-assistant-lite
  $ modelhaul bundles --json | jq '.bundles[] | {name, totalSize}'`,
    )
    .action((options: { json?: boolean }) => {
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
      setExitCode(EXIT.ok);
    });
}
