export * from './schema.js';
export { compileTrails, GLOBAL_SERVICE_SOURCES, type CompiledTrail, type TrailMatcher } from './matcher.js';
export { compileSelectors, compileBasicSelector, compileAdvancedSelector, compileFieldSelector, eventCategoryOf, readOnlyOf, resourcesOf, type ResourceView, DEFAULT_EVENT_SELECTORS, type EventPredicate } from './selectors.js';
export { checkAdvancedSelectors, checkBasicSelectors, TRAIL_FIELDS, OPERATORS, MAX_ADVANCED_VALUES, MAX_DATA_RESOURCE_VALUES } from './selectorRules.js';
export { trailArn, describeTrail, eventSelectorsView, insightSelectorsView, type TrailDescription, type EventSelectorsView } from './describe.js';
export { TrailTable, InMemoryTrailStore, configTrailRecord, type TrailCatalog, type TrailCatalogHandle, type TrailStore, type TrailRecord, type TrailChange, type TrailTag, type TrailOrigin } from './catalog.js';
export { openTrailCatalog, planSeed, canonicalJson, sameDefinition, trailRecordValue, trailRecordFromValue, trailRecordDecoder, TrailRecordError, type SeedPlan, type TrailCatalogOptions } from './kafkaCatalog.js';
export { ActivityRecorder, TrailActivityTable, activityError, activityKey, activityRecorder, type ActivityProducer, type ActivityReport, type ActivityKind, type ActivityError, type ActivityRecorderOptions, type TrailActivityView } from './activity.js';
export { openTrailActivityReader, openTrailActivityWriter, type TrailActivityReader, type TrailActivityWriter, type TrailActivityOptions } from './activityReader.js';
