# One image for every opentrail service; the service is chosen by OPENTRAIL_SERVICE (or the command).
#   docker build -t opentrail .
#   docker run -e OPENTRAIL_SERVICE=enricher -e OPENTRAIL_KAFKA_BROKERS=... opentrail
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY schemas ./schemas
# tsx (a runtime dependency) runs the TypeScript sources directly: the same code paths as the tests.
RUN npm ci --no-audit --no-fund && npm cache clean --force
USER node
EXPOSE 9464
ENV OPENTRAIL_HTTP_PORT=9464
ENTRYPOINT ["sh", "-c", "exec node --import tsx services/${OPENTRAIL_SERVICE:?set OPENTRAIL_SERVICE to a folder under services/}/src/main.ts"]
