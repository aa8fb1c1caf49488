export * from './schema.js';
export { compileTrails, type CompiledTrail, type TrailMatcher } from './matcher.js';
export { trailArn, describeTrail, eventSelectorsView, insightSelectorsView } from './describe.js';
export { InMemoryTrailStore, configTrailRecord, type TrailCatalog, type TrailCatalogHandle, type TrailStore, type TrailRecord, type TrailChange, type TrailTag } from './catalog.js';
export { openTrailCatalog, trailRecordValue } from './kafkaCatalog.js';
export { type ActivityReport, type ActivityKind } from './activity.js';
export { openTrailActivityReader, openTrailActivityWriter, type TrailActivityReader } from './activityReader.js';
