// The projector's view of the real domain (domain/index.ts): its stored-event decoder and each
// kind's initialState/evolve. The membership stream is the domain's `conductor` kind.

import * as E from 'fp-ts/lib/Either.js';
import { decodeStoredEvent, foldFor } from '../domain/index.ts';
import type { ProjectionDomain } from './domain-port.ts';

export const productionDomain: ProjectionDomain = {
  decode: (rec) => {
    const r = decodeStoredEvent(rec);
    return E.isRight(r) ? { ok: true, event: r.right } : { ok: false, reason: r.left.reason };
  },
  foldFor: (kind) => {
    if (kind === 'membership') return foldFor('conductor');
    if (kind === 'conductor') return undefined; // conductors live in the membership stream
    return foldFor(kind);
  },
};
