import type { Command } from 'commander';
import { collectGarbage, findGarbage, type GarbageItem, type GarbagePlan } from '../../garbage.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { addTargetOptions, seconds } from '../options.js';
import { formatBytes } from '../format.js';
import { table } from '../render/table.js';
import { listenForInterruption } from '../signals.js';

interface GcCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  yes?: boolean;
  allPartials?: boolean;
  json?: boolean;
  lockTimeout?: number;
}

export function registerGc(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('gc'))
    .description('list (and with --yes remove) what the install dir holds that the manifest does not need')
    .option('-y, --yes', 'remove the listed files (without it, gc only lists them)')
    .option('--all-partials', 'also remove partial downloads the manifest still needs (they would be resumed otherwise)')
    .option('--json', 'print the result as one JSON object')
    .option('--lock-timeout <seconds>', 'with --yes, seconds to wait for another modelhaul using the dir (default: do not wait)', seconds)
    .addHelpText(
      'after',
      `
Looks only at modelhaul's own folder (<dir>/.modelhaul) and at files modelhaul installed: stale
partial downloads and resume records, corrupt records, temp files of interrupted writes, and
install records and files of artifacts the manifest no longer lists. Your own files in the dir,
and verified files the manifest still needs, are never touched.

Examples:
  $ modelhaul gc --manifest models.json --dir ./models          # dry run: lists, removes nothing
  $ modelhaul gc --manifest models.json --dir ./models --yes    # removes, prints the bytes freed
  $ modelhaul gc --yes --all-partials                           # also drop unfinished downloads`,
    )
    .action(async (options: GcCommandOptions) => {
      setExitCode(await runGc(options, context));
    });
}

async function runGc(options: GcCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const interruption = listenForInterruption(() => process.exit(EXIT.sigint));
  try {
    const target = await resolveTarget({ ...options, allowHttp: true }, context.env);
    const gcOptions = { allPartials: options.allPartials === true };
    if (!options.yes) {
      const plan = await findGarbage(target.manifest, target.dir, gcOptions);
      if (json) context.out(JSON.stringify({ event: 'gc', dryRun: true, ...plan, bytesFreed: 0 }) + '\n');
      else printPlan(plan, context, true);
      return EXIT.ok;
    }
    const result = await collectGarbage(target.manifest, target.dir, {
      ...gcOptions,
      signal: interruption.signal,
      lockTimeoutMs: options.lockTimeout ?? 0,
    });
    if (json) {
      context.out(JSON.stringify({ event: 'gc', dryRun: false, ...result }) + '\n');
    } else {
      printPlan(result, context, false);
      if (result.items.length > 0) {
        context.out(context.paint('green', `Freed ${formatBytes(result.bytesFreed)} (${result.bytesFreed} bytes).\n`));
      }
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr });
  } finally {
    interruption.dispose();
  }
}

function printPlan(plan: GarbagePlan, context: CliContext, dryRun: boolean): void {
  const { paint } = context;
  if (plan.items.length === 0) {
    context.out(`Nothing to clean up in ${plan.dir}.\n`);
  } else {
    context.out(dryRun ? `Not needed by ${plan.bundle} in ${plan.dir}:\n` : `Removed from ${plan.dir}:\n`);
    context.out(indent(table(['WHAT', 'ARTIFACT', 'SIZE', 'FILE', 'WHY'], plan.items.map((item) => row(item, plan.dir)))) + '\n');
    if (dryRun) {
      const count = `${plan.items.length} ${plan.items.length === 1 ? 'file' : 'files'}`;
      context.out(`${count}, ${paint('bold', formatBytes(plan.bytes))} (${plan.bytes} bytes). Nothing was removed: run the same command with --yes to remove them.\n`);
    }
  }
  if (plan.kept.length > 0) {
    context.out(paint('dim', 'Kept:\n'));
    context.out(paint('dim', indent(table(['WHAT', 'ARTIFACT', 'SIZE', 'FILE', 'WHY'], plan.kept.map((item) => row(item, plan.dir))))) + '\n');
  }
}

function row(item: GarbageItem, dir: string): string[] {
  const file = item.file.startsWith(dir) ? item.file.slice(dir.length + 1) : item.file;
  return [item.kind, item.id ?? '-', formatBytes(item.bytes), file, item.reason];
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}
