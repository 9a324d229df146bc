import { collectGarbage, findGarbage, type GarbageItem, type GarbagePlan } from '../../operations/gc.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { formatBytes } from '../format.js';
import { table } from '../render/table.js';
import { listenForInterruption } from '../signals.js';
import type { GcCommandOptions } from './gc.js';

export async function runGc(options: GcCommandOptions, context: CliContext): Promise<number> {
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
