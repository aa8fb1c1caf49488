import { randomBytes } from 'node:crypto';
import { AwsClients } from '@opentrail/aws';
import { HistoryQueries, NextTokenCodec, openQueryPool } from '@opentrail/history';
import { Recorder } from '@opentrail/producer';
import { main, startupStep } from '@opentrail/runtime';
import { LakeQueries, LakeQueryStore, LakeTables, openEventDataStoreCatalog, TrinoEngine } from '@opentrail/lake';
import { openTrailActivityReader, openTrailCatalog } from '@opentrail/trails';
import { CONSOLE_DIST_DIR } from '@opentrail/console';
import { DeliveryLag } from './activitySummary.js';
import { alertsFeed, RecentAlerts } from './alertsFeed.js';
import { ApiServer } from './apiServer.js';
import { ApiState } from './apiState.js';
import { AuditTrail } from './auditTrail.js';
import { Authorizer } from './authorization.js';
import { bindings, configSchema } from './config.js';
import { ConsoleAssets } from './consoleAssets.js';
import { ConsoleOperations } from './consoleOperations.js';
import { LakeQueryOperations } from './lakeQueryOperations.js';
import { Operations, type HistoryOperations } from './operations.js';
import { RateLimiter } from './rateLimit.js';
import { AwsTrailResources } from './trailResources.js';
import { combinedActivity } from './trailStatus.js';

main({
  name: 'api',
  configSchema,
  bindings,
  // The API may start before the digester and the enricher: the topics it reads exist from the start.
  topics: (config) => ({
    deliveries: { reads: 'deliveries', value: 'Delivery' },
    keys: { table: 'digestKeys', configured: config.api.keysTopic, partitions: 1, value: 'DigestPublicKey', register: false },
    // The API's own calls go into the pipeline like any producer's (auditTrail.ts); the recorder registers its schema.
    raw: { writes: 'raw' },
    // The web console (issue 15): the alerts it lists.
    alerts: { reads: 'alerts', value: 'Alert' },
    // The trails package creates these, with its own settings.
    trails: { reads: 'trails', ensure: false },
    trailActivity: { reads: 'trailActivity', ensure: false },
    eventDataStores: { reads: 'eventDataStores', ensure: false },
  }),
  async start(ctx) {
    const { config, logger, metrics, kafka, registry, topics, serdes } = ctx;
    const c = config.api;
    const authorizer = Authorizer.fromConfig({ ...c, additionalRegions: config.records.additionalRegions });
    const recorder = await Recorder.create({ kafka, registry, topic: topics.raw, additionalRegions: config.records.additionalRegions });
    ctx.onStop('audit recorder', () => recorder.close());
    const audit = new AuditTrail({ publisher: recorder, logger, metrics });
    // Stopped before the recorder it publishes through.
    ctx.onStop('audit trail', () => audit.drain());
    const deliveryLag = new DeliveryLag();
    const state = await ctx.start('state', new ApiState({
      kafka,
      keysTopic: topics.keys,
      deliveriesTopic: topics.deliveries,
      keySerde: serdes.keys,
      deliverySerde: serdes.deliveries,
      groupPrefix: 'opentrail-api',
      logger,
      metrics,
      // The deliveries topic is read once: the console's delivery lag comes from the same reader.
      onDelivery: (d) => deliveryLag.add(d),
    }));
    const h = c.history;
    // Two pools: one planning each combined query for its values, one keeping generic plans for
    // the single-attribute lookups (queryPool.ts says why).
    const pool = h.databaseUrl ? openQueryPool({ connectionString: h.databaseUrl, max: h.poolSize, statementTimeoutMs: h.statementTimeoutMs }) : undefined;
    const lookupPool = h.databaseUrl ? openQueryPool({ connectionString: h.databaseUrl, max: h.poolSize, statementTimeoutMs: h.statementTimeoutMs, planning: 'prepared' }) : undefined;
    // An idle connection's failure (the database restarting) must not end the process: the pool drops it.
    for (const p of [pool, lookupPool]) p?.on('error', (err) => logger.warn({ err: err.message }, 'history database connection lost'));
    ctx.onStop('history database', async () => {
      await Promise.all([pool?.end(), lookupPool?.end()]);
    });
    if (!h.nextTokenSecret && pool) logger.warn('no api.history.nextTokenSecret (OPENTRAIL_API_HISTORY_NEXT_TOKEN_SECRET): NextTokens are signed with a random key and work only on this instance until it stops');
    const history: HistoryOperations | undefined = pool && {
      queries: new HistoryQueries({
        db: pool,
        ...(lookupPool ? { lookupDb: lookupPool } : {}),
        tokens: new NextTokenCodec({ secret: h.nextTokenSecret ? Buffer.from(h.nextTokenSecret, 'utf8') : randomBytes(32), ttlSeconds: h.nextTokenTtlSeconds }),
        retentionDays: h.retentionDays,
      }),
      lookupEventsLimit: new RateLimiter(h.lookupEventsPerSecond),
      queryEventsLimit: new RateLimiter(h.queryEventsPerSecond),
    };
    // The trails: the compacted trails topic every service follows, seeded from config.trails.
    const store = ctx.own('trails', await openTrailCatalog({
      kafka,
      registry,
      logger,
      metrics,
      topic: topics.trails,
      seed: config.trails,
      groupIdPrefix: 'opentrail-api',
      replicationFactor: config.topics.replicationFactor,
    }));
    // What the archiver, digester and notifier did for each trail (GetTrailStatus' errors and attempts).
    const activity = ctx.own('trailActivity', await openTrailActivityReader({ kafka, registry, logger, metrics, topic: topics.trailActivity, groupIdPrefix: 'opentrail-api', replicationFactor: config.topics.replicationFactor }));
    // CloudTrail Lake's event data stores: the compacted topic the lake service follows.
    const eventDataStores = ctx.own('eventDataStores', await openEventDataStoreCatalog({ kafka, registry, logger, metrics, topic: topics.eventDataStores, groupIdPrefix: 'opentrail-api', replicationFactor: config.topics.replicationFactor }));
    const aws = c.checkTrailResources ? new AwsClients(config.aws) : undefined;
    if (aws) ctx.onStop('aws', () => aws.destroy());
    // CloudTrail Lake's queries: on Trino, their state and rows in PostgreSQL.
    const lakeQueries = await (async () => {
      const l = c.lake;
      const databaseUrl = l.databaseUrl ?? h.databaseUrl;
      if (!l.trinoUrl) return undefined;
      if (!databaseUrl) {
        logger.warn('api.lake.trinoUrl is set but no database for query results (api.lake.databaseUrl or api.history.databaseUrl): Lake queries are off');
        return undefined;
      }
      const { store, end } = LakeQueryStore.open(databaseUrl, (err) => logger.warn({ err: err.message }, 'Lake query database connection lost'));
      ctx.onStop('lake query database', end);
      await startupStep('the Lake query tables', () => store.migrate());
      const engine = new TrinoEngine({ url: l.trinoUrl, catalog: l.catalog, schema: l.schema });
      const lakeAws = new AwsClients(config.aws);
      ctx.onStop('lake aws', () => lakeAws.destroy());
      const queries = new LakeQueries({
        engine,
        store,
        stores: eventDataStores,
        tables: new LakeTables({ engine, catalog: l.catalog, schema: l.schema, bucket: l.bucket, prefix: l.prefix }),
        s3: lakeAws.s3,
        logger,
        maxConcurrentPerAccount: l.maxConcurrentQueries,
        timeoutMs: l.queryTimeoutSeconds * 1000,
        maxResultBytes: l.maxResultBytes,
      });
      ctx.onStop('lake queries', () => queries.stop());
      const expire = setInterval(() => void store.expire(Date.now() - l.resultsRetentionDays * 86_400_000).catch((err: unknown) => logger.warn({ err }, 'expiring Lake query results failed')), 3_600_000);
      expire.unref();
      ctx.onStop('lake query expiry', () => clearInterval(expire));
      return new LakeQueryOperations({ queries, store, stores: eventDataStores });
    })();
    // The web console (issue 15): the alerts it lists and the delivery lag it charts.
    const recentAlerts = new RecentAlerts();
    await ctx.start('alerts', alertsFeed({ kafka, topic: topics.alerts, serde: serdes.alerts, groupIdPrefix: 'opentrail-api-alerts', logger, metrics, alerts: recentAlerts }));
    const withConsole = (operations: Operations) => {
      operations.consoleOperations = new ConsoleOperations({ alerts: recentAlerts, deliveryLag, ...(pool ? { db: pool } : {}), limit: new RateLimiter(h.queryEventsPerSecond) });
      return operations;
    };
    const server = await ctx.start('api server', new ApiServer({
      port: c.port,
      host: c.host,
      authorizer,
      audit,
      maxClockSkewSeconds: c.maxClockSkewSeconds,
      maxBodyBytes: c.maxBodyBytes,
      operations: withConsole(new Operations({
        store,
        keys: state,
        activity: combinedActivity(state, activity),
        ...(history ? { history } : {}),
        ...(aws ? { resources: new AwsTrailResources(aws) } : {}),
        ...(c.organizationId ? { organizationId: c.organizationId } : {}),
        maxTrailsPerRegion: c.maxTrailsPerRegion,
        eventDataStores: {
          store: eventDataStores,
          ...(aws ? { resources: new AwsTrailResources(aws) } : {}),
          ...(c.organizationId ? { organizationId: c.organizationId } : {}),
          maxStoresPerRegion: c.maxEventDataStoresPerRegion,
          now: Date.now,
        },
        ...(lakeQueries ? { lakeQueries } : {}),
        newTrails: c.newTrails,
        limits: { reads: new RateLimiter(c.trailReadsPerSecond), writes: new RateLimiter(c.trailWritesPerSecond) },
        now: Date.now,
      })),
      logger,
      metrics,
      console: new ConsoleAssets(process.env.OPENTRAIL_API_CONSOLE_DIR || CONSOLE_DIST_DIR),
    }));
    if (authorizer.size === 0) logger.warn('no api.accessKeys or api.principals configured (OPENTRAIL_API_ACCESS_KEYS, OPENTRAIL_API_PRINCIPALS): every request is refused with 403 until one is');
    metrics.gauge('public_keys', 'Digest public keys known (from the keys topic)', [], function collect() {
      this.set(state.keys.size);
    });
    // Who may call, never their secrets.
    const callers = [...c.principals.map((p) => ({ principal: p.arn, accessKeys: p.accessKeys.map((k) => k.accessKeyId), allow: p.allow, deny: p.deny })), ...c.accessKeys.map((k) => ({ accessKeys: [k.accessKeyId], allow: ['*'] }))];
    logger.info({ api: server.url, trails: store.all().map((r) => r.definition.name), keysTopic: topics.keys, auditTopic: topics.raw, history: pool !== undefined, callers }, 'CloudTrail API listening');
    logger.info({ console: `${server.url}/console/` }, 'web console');
  },
});
