import { ACCOUNT_ID_PATTERN, REGION_PATTERN } from '@opentrail/cloudtrail';
import { z } from '@opentrail/config';
import { advancedEventSelectorSchema, checkAdvancedSelectors } from '@opentrail/trails';

/**
 * A CloudTrail Lake event data store's definition (botocore's CreateEventDataStore: Name,
 * AdvancedEventSelectors, MultiRegionEnabled, OrganizationEnabled, RetentionPeriod,
 * TerminationProtectionEnabled, KmsKeyId, BillingMode). Its selectors are the trails' selector
 * engine (packages/trails), checked with the rules for event data stores.
 */

/** The ID of a store: the last part of its ARN, a UUID (what Lake's SQL names in FROM). */
export const EVENT_DATA_STORE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** botocore EventDataStoreName: 3–128 of `[a-zA-Z0-9._-]`. */
export const EVENT_DATA_STORE_NAME = /^[a-zA-Z0-9._-]{3,128}$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/** botocore RetentionPeriod: 7 to 3653 days. */
export const MIN_RETENTION_DAYS = 7;
export const MAX_RETENTION_DAYS = 3653;
/** CloudTrail's default retention per billing mode: one year under extendable pricing, seven under the fixed plan (which allows no more). */
export const DEFAULT_RETENTION_DAYS = { EXTENDABLE_RETENTION_PRICING: 366, FIXED_RETENTION_PRICING: 2557 } as const;

export const BILLING_MODES = ['EXTENDABLE_RETENTION_PRICING', 'FIXED_RETENTION_PRICING'] as const;

/** What a store created without selectors takes: every management event (Lake's default). */
export const DEFAULT_STORE_SELECTORS = [{ name: 'Default management events', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] }];

export const eventDataStoreSchema = z
  .strictObject({
    id: z.string().regex(EVENT_DATA_STORE_ID, 'must be a lower-case UUID'),
    name: z.string().regex(EVENT_DATA_STORE_NAME, 'must be 3 to 128 ASCII letters, digits, ".", "_" or "-"'),
    accountId: z.string().regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit account id'),
    homeRegion: z.string().regex(REGION_PATTERN, 'must be a region name such as us-east-1'),
    advancedEventSelectors: z.array(advancedEventSelectorSchema).min(1, 'must hold at least one selector').max(5, 'at most 5 selectors').default(DEFAULT_STORE_SELECTORS),
    /** Events of every region (true), or of the home region only. @default true, as CloudTrail */
    multiRegionEnabled: z.boolean().default(true),
    /** Set for an organization store: events of every account of the organization. */
    organizationId: z.string().regex(ORGANIZATION_ID, 'must be an organization id such as o-exampleorgid').optional(),
    retentionPeriodDays: z.number().int().min(MIN_RETENTION_DAYS).max(MAX_RETENTION_DAYS),
    /** @default true, as CloudTrail: DeleteEventDataStore is refused until it is turned off */
    terminationProtectionEnabled: z.boolean().default(true),
    billingMode: z.enum(BILLING_MODES).default('EXTENDABLE_RETENTION_PRICING'),
    /** Stored and echoed: the lake's files are encrypted as the bucket is configured. */
    kmsKeyId: z.string().min(1).max(350).regex(/^[a-zA-Z0-9._/\-:]+$/).optional(),
  })
  .superRefine((store, ctx) => {
    if (store.billingMode === 'FIXED_RETENTION_PRICING' && store.retentionPeriodDays > DEFAULT_RETENTION_DAYS.FIXED_RETENTION_PRICING) {
      ctx.addIssue({ code: 'custom', path: ['retentionPeriodDays'], message: `must be at most ${DEFAULT_RETENTION_DAYS.FIXED_RETENTION_PRICING} days under FIXED_RETENTION_PRICING` });
    }
    checkAdvancedSelectors(store.advancedEventSelectors, (path, message) => ctx.addIssue({ code: 'custom', path: ['advancedEventSelectors', ...path], message }), 'eventDataStore');
  });

export type EventDataStoreDefinition = z.output<typeof eventDataStoreSchema>;
export type EventDataStoreInput = z.input<typeof eventDataStoreSchema>;
