// The lifecycle's per-artifact view of a running install: what an app shows for each artifact as
// engine events arrive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArtifactBoard } from '../src/lifecycle/artifact-board.js';
import type { Artifact } from '../src/manifest/types.js';

const MODEL: Artifact = {
  id: 'model',
  kind: 'llm',
  label: 'Model',
  url: 'https://models.example/model.bin',
  size: 1000,
  sha256: 'ab'.repeat(32),
  path: 'model.bin',
};

function boardAt(bytes: number): ArtifactBoard {
  const board = new ArtifactBoard([MODEL]);
  board.applyEvent({ event: 'progress', id: 'model', bytes, total: MODEL.size, bytesPerSecond: 0 }, 10);
  return board;
}

test('a restart that keeps bytes (one source blamed for a mismatch) shows what is kept, never a drop to zero', () => {
  const board = boardAt(1000);
  board.applyEvent({ event: 'restart', id: 'model', reason: 'blamed', discardedBytes: 400, bytesKept: 600 }, 20);
  assert.equal(board.bytes, 600);
  assert.equal(board.artifactSnapshots(20, true)[0]?.bytes, 600);
});

test('a restart from zero shows zero', () => {
  const board = boardAt(700);
  board.applyEvent({ event: 'restart', id: 'model', reason: 'changed upstream', discardedBytes: 700, bytesKept: 0 }, 20);
  assert.equal(board.bytes, 0);
});
