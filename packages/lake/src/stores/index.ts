export * from './schema.js';
export * from './catalog.js';
export { openEventDataStoreCatalog, eventDataStoreRecordValue, eventDataStoreRecordFromValue, EventDataStoreRecordError, type EventDataStoreCatalogOptions } from './kafkaCatalog.js';
export { compileEventDataStores, type CompiledEventDataStore, type EventDataStoreMatcher } from './matcher.js';
export { eventDataStoreArn, parseEventDataStoreArn, describeEventDataStore } from './describe.js';
