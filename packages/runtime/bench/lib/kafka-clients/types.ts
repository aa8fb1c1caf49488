/**
 * What the Kafka-client bench asks of each client: one consume → produce pipeline, the same for
 * every client, written against that client's own API (no runtime in between: this measures the
 * clients, bench/runtime.bench.ts measures the runtime over kafkajs).
 */
export interface PipelineOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  input: string;
  output: string;
  /**
   * When set, each batch's outputs and its input offsets go in one transaction (produce +
   * sendOffsets + commit), as the archiver and the enricher run; otherwise the outputs are
   * produced (idempotent, acks=all) and the offsets committed after they are acknowledged.
   */
  transactionalId?: string;
  /** Called once a batch's outputs are acknowledged and its offsets committed; `receivedAt` is when the client handed the batch over (process.hrtime.bigint()). */
  onBatchDone(events: number, receivedAt: bigint): void;
  /** Called when the pipeline stopped on an error it does not recover from. */
  onError(error: Error): void;
}

export interface Pipeline {
  /** Leaves the group and closes the clients. */
  stop(): Promise<void>;
}

export interface ClientUnderTest {
  /** The package, as the report names it. */
  name: string;
  /** How a group rebalances with this client as configured here. */
  rebalanceProtocol: string;
  start(options: PipelineOptions): Promise<Pipeline>;
}
