// The conductor's side of the ramdisk agent's command API (reference §7.3), as a port and its HTTP
// adapter. The agent serves it on the callback_url it heartbeats with; every call names the agent
// token (query `agent_token`), which the agent demands. Connection errors are retried
// (Ironic's [agent]max_command_attempts, 3); an HTTP error is AgentAPIError; 409 or "busy" means
// the agent runs another command (AgentInProgress: try again on the next heartbeat).

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { firstError, type Dict } from '../../domain/codecs.ts';
import { driverFailure } from '../base.ts';

export const AgentCommandC = t.intersection(
  [
    t.type({ id: t.string, command_name: t.string, command_status: t.string }),
    t.partial({ command_params: t.unknown, command_error: t.unknown, command_result: t.unknown }),
  ],
  'AgentCommand',
);
export type AgentCommand = t.TypeOf<typeof AgentCommandC>;
const CommandListC = t.type({ commands: t.array(AgentCommandC) });

/** Where the agent is and the token it demands (opened from the node's sealed one). */
export interface AgentTarget {
  url: string;
  token: string;
}

export interface AgentClient {
  /** POST /v1/commands/?wait=…: the command as the agent reports it (RUNNING unless `wait`) */
  execute(target: AgentTarget, name: string, params: Dict, wait: boolean, signal?: AbortSignal): Promise<AgentCommand>;
  /** GET /v1/commands/: every command of this ramdisk session, oldest first */
  commands(target: AgentTarget, signal?: AbortSignal): Promise<AgentCommand[]>;
}

/** The agent runs another command: not a failure, the step is tried again later. */
export class AgentInProgress extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentInProgress';
  }
}

export interface HttpAgentClientOptions {
  /** Ironic [agent]command_timeout (60 s) */
  timeoutMs?: number;
  /** Ironic [agent]max_command_attempts (3), on connection errors only */
  attempts?: number;
}

const agentApiError = (message: string) => driverFailure('InvalidState', message);

export const httpAgentClient = (o: HttpAgentClientOptions = {}): AgentClient => {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const attempts = Math.max(1, o.attempts ?? 3);

  const call = async (target: AgentTarget, method: 'GET' | 'POST', path: string, query: Record<string, string>, body: unknown, signal?: AbortSignal): Promise<unknown> => {
    const url = new URL(path, target.url.endsWith('/') ? target.url : `${target.url}/`);
    for (const [k, v] of Object.entries({ ...query, agent_token: target.token })) url.searchParams.set(k, v);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (e) {
        lastError = e;
        if (signal?.aborted) break;
        await new Promise((r) => setTimeout(r, 200 * attempt));
        continue;
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      const message = typeof (json as { message?: unknown } | undefined)?.message === 'string' ? (json as { message: string }).message : text.slice(0, 300);
      if (res.status === 409 || /busy/i.test(message)) throw new AgentInProgress(`Agent is busy: ${message}`);
      if (res.status >= 400) throw agentApiError(`Agent API for node returned HTTP status code ${res.status} with error: ${message}`);
      return json;
    }
    throw agentApiError(`Error invoking agent command at ${target.url}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  };

  const decode = <A>(codec: t.Decoder<unknown, A>, u: unknown, what: string): A => {
    const r = codec.decode(u);
    if (E.isLeft(r)) throw agentApiError(`The agent sent a malformed ${what}: ${firstError(r.left)}`);
    return r.right;
  };

  return {
    execute: async (target, name, params, wait, signal) =>
      decode(AgentCommandC, await call(target, 'POST', 'v1/commands/', { wait: String(wait) }, { name, params }, signal), `reply to ${name}`),
    commands: async (target, signal) => decode(CommandListC, await call(target, 'GET', 'v1/commands/', {}, undefined, signal), 'command list').commands,
  };
};
