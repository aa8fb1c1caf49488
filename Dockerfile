# One image for every opentrail service; the service is chosen by OPENTRAIL_SERVICE (or the command).
#   docker build -t opentrail .
#   docker run -e OPENTRAIL_SERVICE=enricher -e OPENTRAIL_KAFKA_BROKERS=... opentrail
# The default Kafka client, @confluentinc/kafka-javascript, is native (librdkafka): built once here,
# from source against Debian's libraries (packages/runtime/src/clients/confluentInstall.ts, as
# `npm start` and `npm test` build it), and only the built package is copied into the image.
FROM node:24-bookworm AS kafka-client
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential python3 libssl-dev zlib1g-dev libzstd-dev libsasl2-dev liblz4-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
ENV OPENTRAIL_CACHE_DIR=/opt/opentrail-cache
COPY packages/runtime/src/clients/confluentInstall.ts /build/confluentInstall.ts
RUN node /build/confluentInstall.ts --verbose

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# librdkafka's shared libraries (the build above links them dynamically).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libssl3 zlib1g libzstd1 libsasl2-2 liblz4-1 libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV OPENTRAIL_CACHE_DIR=/opt/opentrail-cache
COPY --from=kafka-client /opt/opentrail-cache /opt/opentrail-cache
# See .npmrc: kafkajs's idle request queue arms a negative timer; Node 24 would print a non-JSON warning.
ENV NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY schemas ./schemas
# tsx (a runtime dependency) runs the TypeScript sources directly: the same code paths as the tests.
# The image has Node 24: the lockfile's node-linux-* packages (Node 24 for older machines) are not needed.
RUN npm ci --no-audit --no-fund && rm -rf node_modules/node-linux-* node_modules/.bin/node && npm cache clean --force
# The web console the API serves under /console (packages/console/dist; rebuilt only when stale).
RUN npx tsx packages/console/scripts/ensure-build.ts
# State a service keeps on disk (the digester's local signing keys) lives here; a volume mounted on
# it starts with these owners, so the unprivileged user can write to it.
RUN mkdir -p /var/lib/opentrail/digest-keys && chown -R node:node /var/lib/opentrail
USER node
# 9464: /metrics, /healthz, /readyz of every service; 8090: the CloudTrail API (services/api).
EXPOSE 9464 8090
ENV OPENTRAIL_HTTP_PORT=9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.OPENTRAIL_HTTP_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["sh", "-c", "exec node --import tsx services/${OPENTRAIL_SERVICE:?set OPENTRAIL_SERVICE to a folder under services/}/src/main.ts"]
