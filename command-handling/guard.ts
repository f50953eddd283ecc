// What a command's guard answers (HandleOptions.guard, handle.ts): a DomainError refuses; a grant
// lets the append go ahead, on a precondition where the guard has one. Fencing's guard grants on
// the membership stream's revision its check was made at (conductor/fencing.ts), so the check and
// the append are one step where the store can condition an append (EventStore.appendIf).

import type { DomainError } from '../domain/errors.ts';
import type { AppendPrecondition } from '../eventstore/port.ts';

export interface GuardGrant {
  granted: true;
  precondition?: AppendPrecondition;
}

export const isGuardGrant = (g: DomainError | GuardGrant): g is GuardGrant => (g as GuardGrant).granted === true;
