/**
 * How a service process tells its supervisor (the demo, Kubernetes, systemd) why it stopped, so
 * that the supervisor can tell "restart me" from "a person must act" (sysexits.h codes).
 */
export const SERVICE_EXIT = {
  /** The configuration is wrong (every bad key is in the log): restarting will not help. */
  config: 78,
  /** Not started within start.deadlineSeconds: the log names the step and what it waited for. */
  startDeadline: 75,
  /**
   * A part of the running service stopped for good (a consumer the Kafka client will not restart, a
   * state reader that gave up; /healthz said which): the process stopped itself so that it is
   * restarted. Restarting helps.
   */
  unhealthy: 70,
} as const;
