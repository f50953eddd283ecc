// A store that counts the calls tests make claims about (reads of a stream, write calls).
import type { EventStore } from '../../eventstore/port.ts';

export type CountedCall = 'readStream' | 'append' | 'appendToStreams' | 'appendIf';

export const countingStore = (store: EventStore) => {
  const calls: Record<CountedCall, number> = { readStream: 0, append: 0, appendToStreams: 0, appendIf: 0 };
  const proxy = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (typeof prop === 'string' && prop in calls) {
        return (...a: unknown[]) => {
          calls[prop as CountedCall]++;
          return (v as (...a: unknown[]) => unknown).apply(target, a);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { store: proxy, calls };
};
