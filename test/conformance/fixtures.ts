import type { ConformanceFixture } from './fixture.js';
import { talonFixture } from './osprey-talon.js';
import { prismFixture } from './teradek-prism.js';
import { vidiuFixture } from './teradek-vidiu.js';
import { videonFixture } from './videon.js';

/** Every registered driver, run through the conformance suite. */
export const fixtures: ConformanceFixture[] = [
  talonFixture as ConformanceFixture,
  prismFixture as ConformanceFixture,
  vidiuFixture as ConformanceFixture,
  videonFixture as ConformanceFixture,
];
