import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import type { TrafficGenerator } from '@opentrail/testing';

export interface ScenarioOptions {
  /** Seconds between two scenes (at the given rate). @default 30 */
  everySeconds?: number;
}

/**
 * The demo's sample traffic: the generator's mix, with a scene of what the alert rules catch woven
 * in at the start and then every `everySeconds` (counted in events at `rate`, so it holds whatever
 * the clock does): the alerter has something to say within the first minute.
 */
export function scenarioTraffic(generator: TrafficGenerator, rate: number, options: ScenarioOptions = {}): { next(): CloudTrailRecord } {
  const every = Math.max(1, Math.round(rate * (options.everySeconds ?? 30)));
  // One attacker address across scenes, as a password-guessing run would look.
  const attacker = generator.publicIp();
  const queue: CloudTrailRecord[] = [];
  let count = 0;
  let scene = 0;
  return {
    next() {
      if (count++ % every === 0) queue.push(...alertScene(generator, scene++, attacker));
      return queue.shift() ?? generator.next();
    },
  };
}

/** Users the scenes target, one per scene in turn (a fresh group key, so suppression does not hide it). */
const TARGETS = ['mallory', 'trent', 'oscar', 'peggy'];

/**
 * One scene, each part named by the rules it trips (services/alerter/rules):
 * - ten failed console sign-ins from one address within seconds, six of them for one user:
 *   thresholds/console-signin-failures-per-user (5 in 60 s), cis 4.6, sigma
 *   aws_console_login_failed_authentication and aws_console_brute_force_correlation (10 from one
 *   address in 5 min; console sign-ins are all recorded in us-east-1, so one partition counts them);
 * - then that user's sign-in without MFA: cis 4.2, sigma aws_console_login_without_mfa;
 * - a root user call: cis 4.3, sigma aws_root_credentials_used;
 * - ten security group ingress changes from one address: cis 4.10, sigma
 *   aws_security_group_rule_change, thresholds/security-group-change-burst (10 in 5 min);
 * - an STS AssumeRole chain (user → role → second role) whose keys the following calls use: the
 *   enricher attributes those calls to the user who started the chain.
 */
export function alertScene(generator: TrafficGenerator, scene: number, attacker: string): CloudTrailRecord[] {
  const accountId = generator.accountIds[scene % generator.accountIds.length]!;
  const userName = TARGETS[scene % TARGETS.length]!;
  const other = TARGETS[(scene + 1) % TARGETS.length]!;
  const operator = generator.publicIp();
  return [
    ...Array.from({ length: 6 }, () => generator.consoleSignIn({ accountId, userName, outcome: 'Failure', mfa: false, sourceIPAddress: attacker })),
    ...Array.from({ length: 4 }, () => generator.consoleSignIn({ accountId, userName: other, outcome: 'Failure', mfa: false, sourceIPAddress: attacker })),
    generator.consoleSignIn({ accountId, userName, outcome: 'Success', mfa: false, sourceIPAddress: attacker }),
    generator.rootActivity({ accountId }),
    // One region: windows are kept per partition, and a partition holds one (account, region).
    ...Array.from({ length: 10 }, () => generator.securityGroupChange({ accountId, region: 'eu-west-1', sourceIPAddress: operator })),
    ...generator.assumeRoleChain({ accountId }),
  ];
}
