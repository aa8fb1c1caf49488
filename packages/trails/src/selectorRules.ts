/**
 * The rules CloudTrail enforces on event selectors (cloudtrail-spec.md §6), checked once when the
 * configuration is loaded so that a trail never silently selects something other than what its
 * author meant.
 */

type Report = (path: (string | number)[], message: string) => void;

interface BasicSelectorShape {
  dataResources: { type: string; values: string[] }[];
}

/** §6.1: at most 250 data resource values across a trail's selectors (unless logging every resource of a type). */
export const MAX_DATA_RESOURCE_VALUES = 250;
/** §6.2: at most 500 values across all conditions of all advanced selectors of a trail. */
export const MAX_ADVANCED_VALUES = 500;

export function checkBasicSelectors(selectors: BasicSelectorShape[], report: Report): void {
  let values = 0;
  for (const selector of selectors) for (const resource of selector.dataResources) values += resource.values.filter((v) => !isWholeServiceArn(v)).length;
  if (values > MAX_DATA_RESOURCE_VALUES) report([], `name ${values} data resource values; a trail may name at most ${MAX_DATA_RESOURCE_VALUES}`);
}

/** `arn:aws:s3`, `arn:aws:lambda`: every resource of the data resource's type. */
export function isWholeServiceArn(value: string): boolean {
  return /^arn:aws[\w-]*:[a-z0-9-]+:?$/.test(value);
}

export const OPERATORS = ['equals', 'startsWith', 'endsWith', 'notEquals', 'notStartsWith', 'notEndsWith'] as const;
export type Operator = (typeof OPERATORS)[number];

interface FieldSelectorShape {
  field: string;
  equals?: string[];
  startsWith?: string[];
  endsWith?: string[];
  notEquals?: string[];
  notStartsWith?: string[];
  notEndsWith?: string[];
}

/** Fields a trail's advanced selectors may use (BOTO AdvancedFieldSelector.Field). */
export const TRAIL_FIELDS = ['eventCategory', 'readOnly', 'eventSource', 'eventName', 'resources.type', 'resources.ARN', 'errorCode', 'vpcEndpointId'] as const;
/** Fields valid only for CloudTrail Lake event data stores. */
const LAKE_ONLY_FIELDS = new Set(['eventType', 'userIdentity.arn', 'sessionCredentialFromConsole']);
/** Categories a trail can select; the others exist only in event data stores. */
const TRAIL_CATEGORIES = new Set(['Management', 'Data', 'NetworkActivity']);
const EQUALS_ONLY = new Set(['eventCategory', 'readOnly', 'resources.type', 'errorCode', 'sessionCredentialFromConsole']);

function usedOperators(selector: FieldSelectorShape): Operator[] {
  return OPERATORS.filter((op) => selector[op] !== undefined);
}

/**
 * Who the selectors belong to. A CloudTrail Lake event data store takes the trails' rules plus the
 * fields only Lake can select on (eventType, userIdentity.arn, sessionCredentialFromConsole):
 * one engine, so a store and a trail with the same selectors take the same events.
 */
export type SelectorOwner = 'trail' | 'eventDataStore';

/** Checks a trail's (or an event data store's) advanced selectors against cloudtrail-spec.md §6.2; reports every problem with its path. */
export function checkAdvancedSelectors(selectors: { fieldSelectors: FieldSelectorShape[] }[], report: Report, owner: SelectorOwner = 'trail'): void {
  const lake = owner === 'eventDataStore';
  const what = lake ? 'an event data store' : 'a trail';
  let totalValues = 0;
  selectors.forEach((selector, s) => {
    const byField = new Map<string, { index: number; selector: FieldSelectorShape }>();
    selector.fieldSelectors.forEach((fs, f) => {
      const path = [s, 'fieldSelectors', f];
      const operators = usedOperators(fs);
      totalValues += operators.reduce((n, op) => n + (fs[op]?.length ?? 0), 0);
      if (LAKE_ONLY_FIELDS.has(fs.field)) {
        if (!lake) {
          report([...path, 'field'], `${fs.field} can only be selected by CloudTrail Lake event data stores, not by trails`);
          return;
        }
      } else if (!(TRAIL_FIELDS as readonly string[]).includes(fs.field)) {
        report([...path, 'field'], `unknown field ${JSON.stringify(fs.field)}; ${what} can select on ${[...TRAIL_FIELDS, ...(lake ? LAKE_ONLY_FIELDS : [])].join(', ')}`);
        return;
      }
      if (byField.has(fs.field)) {
        report([...path, 'field'], `${fs.field} appears twice in this selector; put every value in one field selector`);
        return;
      }
      byField.set(fs.field, { index: f, selector: fs });
      if (operators.length === 0) report(path, `needs an operator: one of ${OPERATORS.join(', ')}`);
      if (EQUALS_ONLY.has(fs.field)) {
        for (const op of operators) if (op !== 'equals') report([...path, op], `${fs.field} allows only equals`);
      }
    });

    const path = [s, 'fieldSelectors'];
    const category = byField.get('eventCategory');
    if (!category) {
      report(path, 'an eventCategory field selector (equals Management, Data or NetworkActivity) is required');
      return;
    }
    const values = category.selector.equals ?? [];
    const categoryPath = [...path, category.index, 'equals'];
    if (values.length !== 1) {
      report(categoryPath, values.length > 1 ? 'eventCategory takes one value per selector; use one selector per category' : 'eventCategory needs equals with one of Management, Data or NetworkActivity');
      return;
    }
    const value = values[0]!;
    if (!TRAIL_CATEGORIES.has(value)) {
      // Lake's other categories (ConfigurationItem, ActivityAuditLog...) belong to stores of
      // non-CloudTrail events, which opentrail does not ingest.
      report(categoryPath, `eventCategory ${JSON.stringify(value)} cannot be selected by ${what} (Management, Data or NetworkActivity)`);
      return;
    }
    const at = (field: string) => [...path, byField.get(field)!.index];

    const readOnly = byField.get('readOnly');
    if (readOnly) for (const v of readOnly.selector.equals ?? []) if (v !== 'true' && v !== 'false') report([...at('readOnly'), 'equals'], `readOnly takes "true" or "false", not ${JSON.stringify(v)}`);

    const resourceType = byField.get('resources.type');
    if (value === 'Data') {
      if (!resourceType) report(path, 'data event selectors need a resources.type field selector (e.g. equals AWS::S3::Object)');
      else if ((resourceType.selector.equals?.length ?? 0) !== 1) report([...at('resources.type'), 'equals'], 'resources.type takes exactly one resource type per selector');
    } else {
      for (const field of ['resources.type', 'resources.ARN'])
        if (byField.has(field)) report([...at(field), 'field'], `${field} applies to data events only, not ${value}`);
    }

    const resourceArn = byField.get('resources.ARN');
    if (resourceArn) {
      for (const op of ['equals', 'notEquals'] as const)
        for (const v of resourceArn.selector[op] ?? []) if (!/^arn:[^:]+:[^:]+:/.test(v)) report([...at('resources.ARN'), op], `with ${op}, resources.ARN values must be full ARNs, not ${JSON.stringify(v)}`);
    }

    const source = byField.get('eventSource');
    if (value === 'Management' && source) {
      const ops = usedOperators(source.selector);
      const allowed = new Set(['kms.amazonaws.com', 'rdsdata.amazonaws.com']);
      if (ops.some((op) => op !== 'notEquals') || (source.selector.notEquals ?? []).some((v) => !allowed.has(v))) {
        report(at('eventSource'), 'for management events a trail may only exclude kms.amazonaws.com or rdsdata.amazonaws.com (notEquals)');
      }
    }
    if (value === 'NetworkActivity') {
      if (!source) report(path, 'network activity selectors need an eventSource field selector (equals one event source)');
      else if (usedOperators(source.selector).some((op) => op !== 'equals') || (source.selector.equals?.length ?? 0) !== 1) {
        report(at('eventSource'), 'for network activity, eventSource takes equals with exactly one event source');
      }
    }
    if (value === 'Management' && byField.has('eventName')) report([...at('eventName'), 'field'], 'eventName can select data and network activity events on a trail, not management events');
    for (const field of ['errorCode', 'vpcEndpointId'])
      if (byField.has(field) && value !== 'NetworkActivity') report([...at(field), 'field'], `${field} applies to network activity events only`);
    const errorCode = byField.get('errorCode');
    if (errorCode && value === 'NetworkActivity' && (errorCode.selector.equals ?? []).some((v) => v !== 'VpceAccessDenied')) {
      report([...at('errorCode'), 'equals'], 'errorCode takes only VpceAccessDenied');
    }
  });
  if (totalValues > MAX_ADVANCED_VALUES) report([], `name ${totalValues} values in all; ${what}'s advanced selectors may name at most ${MAX_ADVANCED_VALUES}`);
}
