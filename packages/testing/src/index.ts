/**
 * Test and demo material: synthetic CloudTrail traffic. Used by the demo, the benches and the
 * tests; no service depends on it.
 */
export { TrafficGenerator, type TrafficGeneratorOptions } from './trafficGenerator.js';
export { rejection } from './rejection.js';
