// Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) into the few numbers that say where the
// main thread's time went: self time by function and by area (Node's streams, undici, hashing,
// modelhaul's own code...), and inclusive time of modelhaul's functions. The profile covers the
// main thread only: libuv's threadpool (file writes, fsync) shows up there as idle time.
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  area: string;
  ms: number;
}

export interface ProfileSummary {
  totalMs: number;
  bySelf: FunctionTime[];
  byArea: Array<{ area: string; ms: number }>;
  /** Inclusive time of modelhaul's own functions (recursion counted once). */
  ownInclusive: FunctionTime[];
}

/** Summarizes `profile`; locations are shown relative to `repoRoot`. */
export function summarizeProfile(profile: CpuProfile, repoRoot: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = selfTimes(profile);
  const functions = new Map<string, FunctionTime>();
  const areas = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const entry = functionEntry(functions, node.callFrame, repoRoot);
    entry.ms += us / 1000;
    areas.set(entry.area, (areas.get(entry.area) ?? 0) + us / 1000);
  }
  const root = profile.nodes[0];
  const inclusive = root === undefined ? new Map<string, FunctionTime>() : inclusiveTimes(root, byId, selfUs, repoRoot);
  const sorted = <T extends { ms: number }>(items: Iterable<T>): T[] => [...items].sort((a, b) => b.ms - a.ms);
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    bySelf: sorted(functions.values()),
    byArea: sorted([...areas].map(([area, ms]) => ({ area, ms }))),
    ownInclusive: sorted([...inclusive.values()].filter((f) => f.area.startsWith('modelhaul'))),
  };
}

// timeDeltas[i] is the time from sample i-1 to sample i, so the time spent in sample i's frame is
// the next delta (the last sample gets none).
function selfTimes(profile: CpuProfile): Map<number, number> {
  const times = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return times;
}

function inclusiveTimes(root: ProfileNode, byId: Map<number, ProfileNode>, selfUs: Map<number, number>, repoRoot: string): Map<string, FunctionTime> {
  const result = new Map<string, FunctionTime>();
  const onStack = new Map<string, number>();
  // Returns the node's inclusive time; a function already on the stack is not counted again.
  const visit = (node: ProfileNode): number => {
    const key = keyOf(node.callFrame);
    onStack.set(key, (onStack.get(key) ?? 0) + 1);
    let us = selfUs.get(node.id) ?? 0;
    for (const childId of node.children ?? []) {
      const child = byId.get(childId);
      if (child) us += visit(child);
    }
    const depth = onStack.get(key)! - 1;
    onStack.set(key, depth);
    if (depth === 0) functionEntry(result, node.callFrame, repoRoot).ms += us / 1000;
    return us;
  };
  visit(root);
  return result;
}

function functionEntry(map: Map<string, FunctionTime>, frame: CallFrame, repoRoot: string): FunctionTime {
  const key = keyOf(frame);
  let entry = map.get(key);
  if (entry === undefined) {
    const where = frame.url === '' ? '(native)' : `${shortUrl(frame.url, repoRoot)}:${frame.lineNumber + 1}`;
    entry = { name: frame.functionName || '(anonymous)', where, area: areaOf(frame), ms: 0 };
    map.set(key, entry);
  }
  return entry;
}

function keyOf(frame: CallFrame): string {
  return `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
}

/** A coarse owner of a frame: V8's pseudo-frames, Node's internals, a package, or modelhaul's files. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : `native: ${functionName || '(anonymous)'}`;
  if (url.startsWith('node:')) {
    const module = url.slice('node:'.length).replace(/^internal\//, '');
    const group = module.split('/').slice(0, 2).join('/');
    return `node: ${group}`;
  }
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return `package: ${dependency[1]}`;
  const own = /\/dist\/(.+)\.js$/.exec(url);
  if (own) return `modelhaul: ${own[1]}`;
  return url;
}

function shortUrl(url: string, repoRoot: string): string {
  if (!url.startsWith('file://')) return url;
  const path = new URL(url).pathname;
  const inRepo = relative(repoRoot, path);
  return inRepo.startsWith('..') ? path : inRepo;
}
