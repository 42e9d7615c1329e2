/**
 * The orchestrator's side of `paxos up --trace FILE`. It starts a new parts
 * directory (FILE.parts), tells each replica where its part goes, records
 * what only it sees (a replica's process ending is a `crash`; partition rules
 * it hands out are `partition` and `heal`), and when the cluster stops merges
 * every part into FILE. Merging once, at the end, keeps the replicas
 * independent: no process waits on another to write its trace.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { NodeId } from '../core/types.js';
import { orchestratorPartOf, PartWriter, partsDirOf, replicaPartOf } from '../trace/live.js';
import { mergePartsDir } from '../trace/merge.js';
import type { FaultRules } from '../transport/faults.js';

export class ClusterTrace {
  readonly dir: string;
  private readonly writer: PartWriter;

  constructor(
    readonly file: string,
    private readonly log: (line: string) => void,
  ) {
    this.dir = partsDirOf(file);
    // A trace is one run: parts left by an earlier run would merge into this one.
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.writer = new PartWriter(orchestratorPartOf(this.dir), log);
  }

  /** The flag that makes a replica write its part. */
  replicaArgs(id: NodeId): string[] {
    return ['--trace-file', replicaPartOf(this.dir, id)];
  }

  /** A replica's process ended while the cluster was running: killed by `paxos kill`, or died on its own. */
  crashed(id: NodeId): void {
    this.writer.write({ ev: 'crash', node: id });
  }

  /** Narration beside the diagram: a live scenario's comments for the step it is about to run. */
  note(text: string): void {
    this.writer.write({ ev: 'note', text });
  }

  /** Only a change of the partition is an event; delay and loss show as the drops and late deliveries they cause. */
  faultsChanged(before: FaultRules, after: FaultRules): void {
    if (JSON.stringify(before.partition) === JSON.stringify(after.partition)) return;
    if (after.partition === undefined) this.writer.write({ ev: 'heal' });
    else this.writer.write({ ev: 'partition', groups: after.partition.map((g) => [...g]) });
  }

  /** Merges the parts into the trace file, once every replica has stopped (and flushed its part); returns the sentence it logged. */
  finish(): string {
    this.writer.close();
    try {
      const merged = mergePartsDir(this.dir);
      // Private like the logs: a trace quotes every value the cluster saw.
      writeFileSync(this.file, merged.text, { mode: 0o600 });
      const left =
        merged.orphans > 0 ? `; ${merged.orphans} deliveries of messages whose sends were never written left out` : '';
      return this.say(`wrote the trace of this run to ${this.file}: ${merged.events.length} events${left}`);
    } catch (err) {
      return this.say(
        `could not merge the trace parts in ${this.dir} into ${this.file}: ${(err as Error).message}; \`paxos trace ${this.dir}\` reads them as they are`,
      );
    }
  }

  private say(line: string): string {
    this.log(line);
    return line;
  }
}
