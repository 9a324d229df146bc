// `npm run soak`: the crash soak at length. SIGKILLs the built CLI (dist/cli/main.js, which
// `npm run soak` builds first) hundreds of times while it installs bundles from a throttled local
// origin, checks the install dir after every kill, prints a summary and exits 1 on any violation.
//
//   npm run soak -- --kills 300 --seed 42 --artifacts 4 --size 24 --throttle 8
//
// --size is the largest artifact in MiB, --throttle the origin's pace per response in MiB/s,
// --segmented-share the share of installs that use --connections 4; --trace logs every kill and
// --quiet only the summary.
import { parseArgs } from 'node:util';
import { formatSummary, runSoak } from '../test/helpers/crash-soak.js';

const MiB = 1024 * 1024;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`soak: --${name} must be a positive number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    kills: { type: 'string' },
    seed: { type: 'string' },
    artifacts: { type: 'string' },
    size: { type: 'string' },
    throttle: { type: 'string' },
    'segmented-share': { type: 'string' },
    quiet: { type: 'boolean' },
    trace: { type: 'boolean' },
  },
  strict: true,
});

const seed = values.seed !== undefined ? Math.floor(positive('seed', values.seed, 1)) : Math.floor(Math.random() * 2 ** 31);
const options = {
  kills: Math.floor(positive('kills', values.kills, 300)),
  seed,
  artifacts: Math.floor(positive('artifacts', values.artifacts, 4)),
  maxSize: Math.round(positive('size', values.size, 24) * MiB),
  throttle: Math.round(positive('throttle', values.throttle, 8) * MiB),
  segmentedShare: values['segmented-share'] !== undefined ? Number(values['segmented-share']) : 0.35,
  trace: values.trace === true,
  ...(values.quiet ? {} : { log: (line: string) => console.log(line) }),
};
console.log(
  `soak: ${options.kills} kills, seed ${seed}, ${options.artifacts} artifacts of up to ${options.maxSize / MiB} MiB, ` +
    `origin at ${(options.throttle / MiB).toFixed(1)} MiB/s per response`,
);
const summary = await runSoak(options);
console.log(formatSummary(summary));
process.exitCode = summary.violations.length === 0 ? 0 : 1;
