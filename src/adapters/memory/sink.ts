import type { OutputEffect } from '../../runtime/actor.ts';
import type { EffectSink } from '../../runtime/sink.ts';

/** Records effects in memory; `failNext` makes the next `perform` calls throw (fault tests). */
export class MemorySink implements EffectSink {
  readonly performed: OutputEffect[] = [];
  failNext = 0;

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('memory sink: injected failure');
    }
    this.performed.push(...effects);
  }

  async close(): Promise<void> {}
}
