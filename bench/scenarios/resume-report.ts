// The resume scenarios' table and goal measures: per interruption, where the signal landed, what
// the second run reused, what the origin sent twice, and the resumed run's wall time against a
// fresh install's from the same origin.
import { goalId, LIMITS, signalName, type GoalMeasure, type ResumeSignal } from '../goals.js';
import type { BenchContext, OriginKind } from '../harness.js';
import type { Measurement } from '../measure.js';
import type { ScenarioReport } from '../report.js';
import { defined, median, percent, ratio, seconds, secondsWithRange, size, times } from '../stats.js';

export interface ResumePair {
  /** Bytes written when the progress event that triggered the signal was printed. */
  interruptedAt: number;
  /** Bytes the second run reused, from its `done` event. */
  resumedFrom: number;
  /** Bytes nginx sent over both runs, less the file size. */
  fetchedTwice: number;
  resumed: Measurement;
}

export interface ResumeSeries {
  fresh: Measurement[];
  pairs: Record<ResumeSignal, ResumePair[]>;
  /** What failed, for the notes. */
  failures: string[];
  /** Failed attempts by kind: a goal whose runs did not all succeed is not called met. */
  failed: Record<'fresh' | ResumeSignal, number>;
}

export interface ResumeFindings {
  context: BenchContext;
  scenario: 'resume' | 'resume-loopback';
  kind: OriginKind;
  series: ResumeSeries;
  fileSize: number;
  /** Whether this scenario measures the goals (the loopback one is information). */
  goals: boolean;
}

const SIGNALS: readonly ResumeSignal[] = ['SIGINT', 'SIGKILL'];

export function resumeReport({ context, scenario, kind, series, fileSize, goals: measuresGoals }: ResumeFindings): ScenarioReport {
  const freshWall = median(series.fresh.map((m) => m.wallMs));
  const goals: GoalMeasure[] = [];
  const rows = SIGNALS.map((signal) => {
    const pairs = series.pairs[signal];
    const twice = pairs.map((p) => p.fetchedTwice);
    const worstTwice = twice.length === 0 ? undefined : Math.max(...twice);
    const resumedWalls = pairs.map((p) => p.resumed.wallMs);
    const wallRatio = ratio(median(resumedWalls), freshWall);
    const complete = series.failed[signal] === 0 && series.failed.fresh === 0;
    const failedNote = complete ? '' : `; ${series.failed[signal] + series.failed.fresh} attempt(s) failed`;
    goals.push({
      id: goalId.resumedWall(signal),
      measured: wallRatio === undefined ? 'not measured (no complete pair)' : `${times(wallRatio)} (${seconds(median(resumedWalls))} vs ${seconds(freshWall)})${failedNote}`,
      met: wallRatio === undefined || !complete ? undefined : wallRatio <= LIMITS.resumedVsFresh,
    });
    if (signal === 'SIGKILL') {
      goals.push({
        id: goalId.crashRefetch,
        measured: worstTwice === undefined ? 'not measured (no complete pair)' : `${percent(worstTwice / fileSize)} (${size(Math.max(0, worstTwice))})${failedNote}`,
        met: worstTwice === undefined || series.failed.SIGKILL > 0 ? undefined : worstTwice <= fileSize * LIMITS.crashRefetchShare,
      });
    }
    return [
      signalName(signal),
      percentOf(median(pairs.map((p) => p.interruptedAt)), fileSize),
      percentOf(median(pairs.map((p) => p.resumedFrom)), fileSize),
      twice.length === 0 ? 'n/a' : `${percent((median(twice) ?? 0) / fileSize)} (worst ${percent((worstTwice ?? 0) / fileSize)}, ${size(Math.max(0, worstTwice ?? 0))})`,
      secondsWithRange(resumedWalls),
      seconds(median(defined(pairs, (p) => p.resumed.cpuMs))),
      secondsWithRange(series.fresh.map((m) => m.wallMs)),
      times(wallRatio),
      String(pairs.length),
    ];
  });
  const options = context.options;
  const link = `an nginx capped at ${options.resumeRateBytesPerSecond / 1e6} MB/s per request (\`limit_rate ${options.resumeRateBytesPerSecond}\`)`;
  const origin =
    kind === 'link'
      ? scenario === 'resume'
        ? `${link}: a fast home line. modelhaul runs with \`--connections 1\`, so its one request has the whole line, as behind a line capped in total`
        : `${link} (smoke sizes finish too fast to interrupt on the uncapped origin)`
      : 'the uncapped loopback nginx: the "network" outruns the disk, so this measures the disk (the resumed run reads the kept half back to hash it)';
  return {
    section: {
      title: `Resume${measuresGoals ? '' : ' on loopback (information, not a goal)'}: interrupted at 50% of ${size(fileSize)}, then run again (\`${scenario}\`)`,
      intro: [
        `modelhaul --connections 1 from ${origin}. ${options.reps[scenario]} round(s) of: a fresh install, then for each signal an install ` +
          `that gets the signal at the first progress event reporting ≥ 50% written, and its second run. ` +
          `The page cache is settled again before the second run, which is timed and checked (size, SHA-256). ` +
          `"Fetched twice" is what nginx sent over both runs less the file size, as a share of the file.`,
      ],
      tables: [
        {
          headers: ['interruption', 'signal sent at', 'resumed from', 'fetched twice, median (worst)', 'resumed run wall', 'resumed run CPU', 'fresh install wall', 'resumed ÷ fresh', 'pairs'],
          rows,
        },
      ],
      notes: series.failures.map((failure) => `**Failed**: ${failure}`),
    },
    goals: measuresGoals ? goals : [],
  };
}

function percentOf(bytes: number | undefined, total: number): string {
  return bytes === undefined ? 'n/a' : `${percent(bytes / total)} (${size(bytes)})`;
}
