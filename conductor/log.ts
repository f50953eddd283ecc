// The logging surface the conductor code needs; a pino logger satisfies it.

export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const nothing = (): void => undefined;
export const silentLog: Log = { debug: nothing, info: nothing, warn: nothing, error: nothing };

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
