import { describe, expect, it } from 'vitest';
import { instanceNames, parseReplicas } from '../src/demo/supervisor.js';

const SERVICES = ['enricher', 'archiver', 'digester', 'api'];

describe('demo replicas (--replicas, demo.replicas)', () => {
  it('counts instances per service from the option or the config section; unnamed services run once', () => {
    expect([...parseReplicas('archiver=3, enricher=2', SERVICES)]).toEqual([
      ['enricher', 2],
      ['archiver', 3],
      ['digester', 1],
      ['api', 1],
    ]);
    expect(parseReplicas({ digester: 2 }, SERVICES).get('digester')).toBe(2);
    expect(parseReplicas(undefined, SERVICES).get('archiver')).toBe(1);
  });

  it('refuses, naming it, an unknown service, a count that is not 1–16, a malformed pair and a second API', () => {
    expect(() => parseReplicas('archivr=2', SERVICES)).toThrow('--replicas: unknown service "archivr" (services: enricher, archiver, digester, api)');
    expect(() => parseReplicas('archiver=0', SERVICES)).toThrow('--replicas: archiver=0 is not a whole number from 1 to 16');
    expect(() => parseReplicas('archiver=2.5', SERVICES)).toThrow('archiver=2.5 is not a whole number');
    expect(() => parseReplicas({ archiver: '2' }, SERVICES)).toThrow('archiver=2 is not a whole number');
    expect(() => parseReplicas('archiver', SERVICES)).toThrow('--replicas: "archiver" is not SERVICE=COUNT');
    expect(() => parseReplicas('api=2', SERVICES)).toThrow('api runs as one instance');
  });

  it('names a single instance after its service and several by number', () => {
    expect(instanceNames('api', 1)).toEqual(['api']);
    expect(instanceNames('archiver', 3)).toEqual(['archiver-1', 'archiver-2', 'archiver-3']);
  });
});
