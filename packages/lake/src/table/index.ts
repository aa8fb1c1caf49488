export { type LakeType, type LakeField, lakeSchema, LAKE_PARTITION_COLUMN, trinoType } from './schema.js';
export { LAKE_ARROW_TYPES, lakeArrowType, lakeArrowSchema } from './arrow-types.js';
export { type LakeRow, type LakeFileRow, type LakeMap, type LakeUserIdentity, type LakeSessionContext, type LakeSessionIssuer, type LakeResource, toLakeRow, lakeMapValue } from './row.js';
export { LAKE_MAX_JSON_DEPTH } from './json-text.js';
export { LAKE_ROW_GROUP_ROWS, encodeLakeParquet, decodeLakeParquet } from './parquet.js';
export { type LakeTableLocation, trinoTableDdl } from './ddl.js';
export { type LakeObjectKeyParts, lakeObjectKey } from './object-key.js';
export { type LakeTableErrorCode, LakeTableError } from './errors.js';
