// A read model cannot apply a stored event. It always names the stream and revision, and the
// projector stops on it: an event is never skipped.

export class ProjectionError extends Error {
  readonly kind = 'ProjectionError' as const;
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly reason: string,
  ) {
    super(`Cannot project stored event ${streamId}@${revision}: ${reason}`);
    this.name = 'ProjectionError';
  }
}
