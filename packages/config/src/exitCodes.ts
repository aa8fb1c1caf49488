/**
 * How a service process tells its supervisor (the demo, Kubernetes, systemd) why it stopped at
 * start-up, so that the supervisor can tell "restart me" from "a person must act" (sysexits.h codes).
 */
export const SERVICE_EXIT = {
  /** The configuration is wrong (every bad key is in the log): restarting will not help. */
  config: 78,
  /** Not started within start.deadlineSeconds: the log names the step and what it waited for. */
  startDeadline: 75,
} as const;
