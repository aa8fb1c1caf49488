-- Event history, migration 3: the record text compressed with lz4 instead of pglz (ingest CPU;
-- figures in bench/history-ingest.bench.ts and services/history/README.md). A record whose row
-- passes PostgreSQL's TOAST threshold (about 2 kB: one event in six of the fixture corpus) is
-- compressed on insert; pglz spent more CPU on those rows than the rest of their insert. lz4 is
-- lossless like pglz: CloudTrailEvent still comes back byte for byte.
--
-- The parent's setting is what new day partitions take; the existing ones are set one by one
-- (ALTER on a partitioned table does not recurse for compression). Rows already stored keep their
-- pglz form, which PostgreSQL reads as before. A server built without lz4 refuses the method
-- (feature_not_supported): it keeps pglz, and the migration still applies.
DO $$
DECLARE
  part regclass;
BEGIN
  ALTER TABLE events ALTER COLUMN record SET COMPRESSION lz4;
  FOR part IN SELECT relid FROM pg_partition_tree('events') WHERE isleaf LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN record SET COMPRESSION lz4', part);
  END LOOP;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server; the record column keeps pglz';
END
$$;
