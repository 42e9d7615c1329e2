/**
 * Agreement across replicas, judged as values are learned. A core checks only
 * its own log, and a second value for one instance is what every other line of
 * a counterexample leads up to, so both runners name it at the step where it
 * happens: `!! agreement broken: …`.
 */
import { nodeName, type Protocol } from '../core/types.js';

export class AgreementJudge {
  /** Each instance's first learned value and who learned it. */
  private readonly first = new Map<string, { readonly node: number; readonly key: string; readonly text: string }>();
  private readonly broken: string[] = [];

  constructor(private readonly protocol: () => Protocol) {}

  /** A fresh cluster: nothing learned yet. */
  clear(): void {
    this.first.clear();
  }

  /** `key` identifies the value (a command id where the runner has one, else its text); the lines to print, if any. */
  learned(node: number, instance: string, key: string, text: string): string[] {
    const first = this.first.get(instance);
    if (first === undefined) {
      this.first.set(instance, { node, key, text });
      return [];
    }
    if (first.key === key) return [];
    const where = this.protocol() === 'multi' ? `#${instance}` : instance;
    const line = `agreement broken: ${nodeName(first.node)} learned ${where}: ${first.text}, ${nodeName(node)} learned ${where}: ${text}`;
    this.broken.push(line);
    return [`!! ${line}`];
  }

  /** Every broken agreement seen, in the order it happened. */
  violations(): readonly string[] {
    return this.broken;
  }
}
