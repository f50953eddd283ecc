// Conductor membership: the ring's events, their decider, the fold that recomputes the ring at
// any epoch, and the fencing check. Pure.

export * from './events.ts';
export * from './commands.ts';
export * from './membership.ts';
export * from './decider.ts';
export * from './fence.ts';
export * from './takeover.ts';
export * from './periodic.ts';
