-- Event history, migration 2 (issue 12's speed goals; figures in bench/history-*.bench.ts and the
-- "Event history" paragraph of docs/architecture.md). Index upkeep is most of PostgreSQL's CPU per
-- ingested event and half of the bytes per event, so attributes that select a small share of the
-- events get partial indexes, and the two queries that scanned the whole window get one.
--
-- Applied in one transaction at start-up: the CREATE INDEX statements build on every existing day
-- partition, holding writes back meanwhile (minutes for tens of millions of rows).

-- ReadOnly: the lookups for read_only = true (most events) walk events_region_time and skip the
-- writes; the writes (fewer) get a partial index. The query writes the literal (e.read_only = false),
-- never a parameter, so that a generic plan can prove the predicate.
DROP INDEX events_region_read_only;
CREATE INDEX events_region_writes ON events (region, event_time DESC, event_id DESC) WHERE read_only = false;

-- errorCode: only failed calls have one; the rest need no entry.
DROP INDEX events_region_error_code;
CREATE INDEX events_region_error_code ON events (region, error_code, event_time DESC, event_id DESC) WHERE error_code IS NOT NULL;

-- EventCategory insight: Insights events are a sliver of the table; without this index a lookup of
-- them walked every event of the window.
CREATE INDEX events_region_insight ON events (region, event_time DESC, event_id DESC) WHERE event_category = 'Insight';

-- Source address: sourceIPAddress is text (a service name is a legal value). The address it names,
-- when it names one, is indexed as inet: a btree on inet serves an exact address and a CIDR block
-- alike (<<= becomes a range of the index). The patterns accept only what inet's input accepts, so
-- the cast never fails; the expression is the query side's SOURCE_INET_EXPRESSION
-- (src/query/sourceAddress.ts), which must repeat it exactly (a unit test checks). Written inline,
-- not as a SQL function: measured, the function call cost 5 µs more per inserted event than the
-- expression, and the expression 2.5 µs more than the text index it replaces (the two regexes).
-- A service name is found by the text itself, among the region's events.
DROP INDEX events_region_source_ip;
CREATE INDEX events_region_source_inet ON events (region, (CASE WHEN source_ip ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])([.](25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' OR source_ip ~ '^(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){1,7}:|([0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){1,5}(:[0-9A-Fa-f]{1,4}){1,2}|([0-9A-Fa-f]{1,4}:){1,4}(:[0-9A-Fa-f]{1,4}){1,3}|([0-9A-Fa-f]{1,4}:){1,3}(:[0-9A-Fa-f]{1,4}){1,4}|([0-9A-Fa-f]{1,4}:){1,2}(:[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(:[0-9A-Fa-f]{1,4}){1,6}|:((:[0-9A-Fa-f]{1,4}){1,7}|:))$' THEN source_ip::inet END), event_time DESC, event_id DESC);
