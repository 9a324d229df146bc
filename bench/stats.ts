// Medians, ratios and the units they are printed in. Medians, because on a shared 2-core machine
// one run in five may be slowed by someone else's work; the min-max range is printed beside them
// so that a noisy figure is visible as such.

/** The median of `values` (the mean of the middle two for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The defined values of `key` over `items`. */
export function defined<T>(items: readonly T[], pick: (item: T) => number | undefined): number[] {
  return items.map(pick).filter((value): value is number => value !== undefined);
}

export function seconds(ms: number | undefined): string {
  if (ms === undefined) return 'n/a';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** `1.23 s (1.10-1.40)`: the median and the range of the runs, when there is more than one. */
export function secondsWithRange(values: readonly number[]): string {
  const middle = median(values);
  if (middle === undefined) return 'n/a';
  if (values.length < 2) return seconds(middle);
  return `${seconds(middle)} (${seconds(Math.min(...values))}-${seconds(Math.max(...values))})`;
}

export function mib(bytes: number | undefined): string {
  if (bytes === undefined) return 'n/a';
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 2 : 1)} MiB`;
}

/** A size for headings: `1 GiB`, `256 MiB`, `512 KiB`. */
export function size(bytes: number): string {
  const units: Array<[number, string]> = [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [scale, unit] of units) {
    if (bytes >= scale) return `${Number((bytes / scale).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** Decimal megabytes per second, as download tools print them. */
export function rate(bytes: number, ms: number | undefined): string {
  if (ms === undefined || ms <= 0) return 'n/a';
  return `${((bytes / ms) * 1000 / 1e6).toFixed(0)} MB/s`;
}

/** `a / b`, or undefined when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

export function times(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${value.toFixed(2)}x`;
}

export function percent(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${(value * 100).toFixed(2)}%`;
}
