-- Event history (issue 12): one row per event, partitioned by day on event_time.
-- The query side (packages/history/src/query) reads THIS file as the truth of the schema.
--
-- Partitions (events_YYYYMMDD, event_resources_YYYYMMDD; [day 00:00 UTC, next day 00:00 UTC)) are
-- created on demand by the writer (store/partitions.ts) before it inserts into a day, and dropped
-- whole by retention. There is no DEFAULT partition on purpose: it would have to be scanned, and
-- split, each time a day partition is created.

CREATE TABLE events (
  event_time     timestamptz NOT NULL,   -- the record's eventTime
  event_id       text        NOT NULL,   -- eventID
  account_id     text        NOT NULL,   -- recipientAccountId (else userIdentity.accountId, else '')
  region         text        NOT NULL,   -- awsRegion
  event_name     text        NOT NULL,
  event_source   text        NOT NULL,
  read_only      boolean,                -- readOnly (null when the record has none)
  username       text,                   -- cloudtrail-spec.md §5.1 Username rule (store/username.ts)
  access_key_id  text,                   -- userIdentity.accessKeyId
  source_ip      text,                   -- sourceIPAddress (text: may be a service name)
  error_code     text,
  event_category text        NOT NULL,   -- Management | Data | Insight | NetworkActivity
  resources      jsonb       NOT NULL,   -- [{"ResourceType":..., "ResourceName":...}] as LookupEvents shows them
  record         text        NOT NULL,   -- the CloudTrailEvent JSON, byte-identical to the archiver's line
  PRIMARY KEY (event_id, event_time)     -- idempotent ingest: INSERT ... ON CONFLICT DO NOTHING
) PARTITION BY RANGE (event_time);

-- One btree per lookup attribute, newest first, scoped by region (LookupEvents is regional).
CREATE INDEX events_region_time        ON events (region, event_time DESC, event_id DESC);
CREATE INDEX events_region_event_name  ON events (region, event_name, event_time DESC, event_id DESC);
CREATE INDEX events_region_username    ON events (region, username, event_time DESC, event_id DESC);
CREATE INDEX events_region_source      ON events (region, event_source, event_time DESC, event_id DESC);
CREATE INDEX events_region_access_key  ON events (region, access_key_id, event_time DESC, event_id DESC);
CREATE INDEX events_region_read_only   ON events (region, read_only, event_time DESC, event_id DESC);
CREATE INDEX events_region_error_code  ON events (region, error_code, event_time DESC, event_id DESC);
CREATE INDEX events_region_source_ip   ON events (region, source_ip, event_time DESC, event_id DESC);
CREATE INDEX events_region_account     ON events (region, account_id, event_time DESC, event_id DESC);

-- One row per (event, resource name): an ARN and the plain name/id of the same resource each get a row.
--
-- CHANGE from the contract in history-common.md: no primary key. resource_type may be null, and a
-- primary key column cannot be; and the writer inserts the resource rows of an event only when its
-- events row was inserted in the same transaction (INSERT ... ON CONFLICT DO NOTHING RETURNING), so
-- a replay never duplicates them without a unique index to maintain on every insert.
CREATE TABLE event_resources (
  event_time    timestamptz NOT NULL,
  event_id      text        NOT NULL,
  region        text        NOT NULL,
  resource_type text,                    -- e.g. AWS::S3::Bucket (null when unknown)
  resource_name text        NOT NULL     -- ARN or plain name/id
) PARTITION BY RANGE (event_time);

CREATE INDEX event_resources_region_name ON event_resources (region, resource_name, event_time DESC, event_id DESC);
CREATE INDEX event_resources_region_type ON event_resources (region, resource_type, event_time DESC, event_id DESC);
