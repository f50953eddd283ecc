// The agent's REST API on its callback URL (IPA's /v1, the subset the conductor uses):
//   GET  /v1/commands[/]            {"commands": [...]}
//   GET  /v1/commands/{id}          one command, 404 if unknown
//   POST /v1/commands[/]?wait=…     {name, params} → the command (after it ended when wait=true)
//   GET  /v1/status                 {started_at, version}
// Every /v1/commands call must carry the agent token Ironic issued this ramdisk (query
// `agent_token`, compared in constant time): none yet, or another → 401.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AgentError, CommandRequestC, decodeOrThrow } from './codecs.ts';
import type { CommandRunner } from './commands.ts';

export const AGENT_VERSION = '9.0.0';
const MAX_BODY = 1 << 20;

export interface ServerDeps {
  runner: () => CommandRunner;
  /** the token of the current session, if the agent has one */
  token: () => string | undefined;
  startedAt: string;
}

const send = (res: ServerResponse, status: number, body?: unknown): void => {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const readBody = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new AgentError('InvalidContentError', 413, 'Request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new AgentError('InvalidContentError', 400, 'Invalid JSON body'));
      }
    });
    req.on('error', reject);
  });

const tokenOk = (expected: string | undefined, sent: string | null): boolean => {
  if (expected === undefined || sent === null) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(sent, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
};

export const agentServer = (deps: ServerDeps): Server =>
  createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://agent');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (req.method === 'GET' && path === '/v1/status') return send(res, 200, { started_at: deps.startedAt, version: AGENT_VERSION });
      const m = /^\/v1\/commands(?:\/([^/]+))?$/.exec(path);
      if (!m) return send(res, 404, new AgentError('NotFound', 404, `No such resource: ${path}`).toJSON());
      if (!tokenOk(deps.token(), url.searchParams.get('agent_token'))) {
        return send(res, 401, new AgentError('Unauthorized', 401, 'Token invalid.').toJSON());
      }
      const runner = deps.runner();
      const id = m[1];
      if (req.method === 'GET') {
        if (id === undefined) return send(res, 200, { commands: runner.all() });
        const c = runner.get(id);
        return c ? send(res, 200, c) : send(res, 404, new AgentError('RequestedObjectNotFoundError', 404, `Command ${id} not found`).toJSON());
      }
      if (req.method !== 'POST' || id !== undefined) return send(res, 405, new AgentError('MethodNotAllowed', 405, `${req.method} not allowed on ${path}`).toJSON());
      const body = decodeOrThrow(CommandRequestC, await readBody(req), 'command request');
      const wait = (url.searchParams.get('wait') ?? 'false').toLowerCase() === 'true';
      const started = runner.start(body.name, body.params ?? {});
      return send(res, 200, wait ? await started.done : started.record);
    })().catch((e: unknown) => {
      const err = e instanceof AgentError ? e : new AgentError('AgentError', 500, e instanceof Error ? e.message : String(e));
      if (!res.headersSent) send(res, err.code, err.toJSON());
    });
  });
