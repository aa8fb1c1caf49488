export { Digester, type DigesterOptions } from './digester.js';
export { ChainState, groupKey } from './chainState.js';
export { filesForPeriod, nextPeriodEnd, periodStart } from './periods.js';
export { configSchema, digesterSchema, signingSchema, bindings, type Config, type DigesterConfig } from './config.js';
