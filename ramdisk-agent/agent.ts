// The agent's life, as IPA's: look the node up by its MACs (GET /v1/lookup, retried until the node
// is in a state that allows it and a token is issued), then heartbeat (POST /v1/heartbeat/{uuid}
// with callback_url, agent_token, agent_version) at a random 0.3–0.6 of the heartbeat_timeout the
// lookup returned, and at once after a command it ran ends. The conductor drives the rest through
// the command API (server.ts).
//
// Ironic wipes the agent token when it powers the node off or reboots it, and with fake power the
// process outlives that power off: so `standby.power_off`, `rescue.finalize_rescue` (the rescue
// environment heartbeats no more), or a heartbeat refused with a 4xx (the token is no longer the
// node's, or the node is gone) ends the ramdisk session: commands are forgotten and the agent looks
// the node up again, as the ramdisk of the node's next boot would.

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as E from 'fp-ts/lib/Either.js';
import { LookupReplyC } from './codecs.ts';
import { CommandRunner } from './commands.ts';
import { AGENT_VERSION, agentServer } from './server.ts';

export interface AgentOptions {
  apiUrl: string;
  macs: string[];
  listenHost: string;
  listenPort: number;
  imageDir: string;
  /** between lookups while the node cannot be found (IPA's lookup_interval) */
  lookupIntervalMs?: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

interface Session {
  uuid: string;
  token: string;
  heartbeatTimeoutS: number;
}

/** Ironic API version the agent speaks: agent_version (1.36), agent_token (1.62), agent_verify_ca (1.68) */
const API_VERSION = '1.68';

export class RamdiskAgent {
  private session: Session | undefined;
  private server: Server | undefined;
  private runner: CommandRunner;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  callbackUrl = '';
  private readonly log: (msg: string, extra?: Record<string, unknown>) => void;

  constructor(private readonly o: AgentOptions) {
    this.log = o.log ?? ((msg, extra) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`));
    this.runner = this.newRunner();
  }

  private newRunner(): CommandRunner {
    return new CommandRunner(
      {
        imageDir: this.o.imageDir,
        log: this.log,
        // ends the session that ran the command, not one a lookup started in the meantime (a
        // refused heartbeat can end it and a new lookup can succeed before the reply has gone)
        endSession: (why) => {
          const ran = this.session;
          if (ran) setTimeout(() => this.endSession(why, ran), 50);
        },
      },
      // IPA heartbeats right after an asynchronous command ends so the conductor goes on at once
      () => this.wake?.(),
    );
  }

  async start(): Promise<void> {
    this.server = agentServer({ runner: () => this.runner, token: () => this.session?.token, startedAt: new Date().toISOString() });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.listenPort, this.o.listenHost, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    const host = this.o.listenHost.includes(':') ? `[${this.o.listenHost}]` : this.o.listenHost;
    this.callbackUrl = `http://${host}:${port}`;
    this.log('agent listening', { callback_url: this.callbackUrl, macs: this.o.macs });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private endSession(why: string, only?: Session): void {
    if (!this.session || (only !== undefined && this.session !== only)) return;
    this.log('ramdisk session ended', { node: this.session.uuid, why });
    this.session = undefined;
    this.runner = this.newRunner();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async lookup(): Promise<Session | undefined> {
    const url = new URL('/v1/lookup', this.o.apiUrl);
    url.searchParams.set('addresses', this.o.macs.join(','));
    let res: Response;
    try {
      res = await fetch(url, { headers: { 'x-openstack-ironic-api-version': API_VERSION } });
    } catch (e) {
      this.log('lookup failed', { error: e instanceof Error ? e.message : String(e) });
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const reply = LookupReplyC.decode(await res.json().catch(() => undefined));
    if (E.isLeft(reply)) {
      this.log('malformed lookup reply');
      return undefined;
    }
    const { node, config } = reply.right;
    const token = config.agent_token;
    if (typeof token !== 'string' || token === '' || token === '******') {
      // another ramdisk session holds the node's token (Ironic issues it once)
      this.log('lookup gave no usable agent token', { node: node.uuid });
      return undefined;
    }
    this.log('node found', { node: node.uuid, heartbeat_timeout: config.heartbeat_timeout });
    return { uuid: node.uuid, token, heartbeatTimeoutS: config.heartbeat_timeout };
  }

  /** true: keep the session; false: the node no longer knows this ramdisk */
  private async heartbeat(s: Session): Promise<boolean> {
    const url = new URL(`/v1/heartbeat/${s.uuid}`, this.o.apiUrl);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'x-openstack-ironic-api-version': API_VERSION, 'content-type': 'application/json' },
        body: JSON.stringify({ callback_url: this.callbackUrl, agent_token: s.token, agent_version: AGENT_VERSION }),
      });
      const text = await res.text();
      if (res.status >= 400 && res.status < 500) {
        this.log('heartbeat refused', { node: s.uuid, status: res.status, body: text.slice(0, 300) });
        return false;
      }
      if (res.status >= 500) this.log('heartbeat failed', { node: s.uuid, status: res.status });
    } catch (e) {
      this.log('heartbeat failed', { node: s.uuid, error: e instanceof Error ? e.message : String(e) });
    }
    return true;
  }

  private async run(): Promise<void> {
    const lookupMs = this.o.lookupIntervalMs ?? 1000;
    while (!this.stopped) {
      if (!this.session) {
        this.session = await this.lookup();
        if (!this.session) {
          await this.sleep(lookupMs);
          continue;
        }
      }
      const s = this.session;
      if (!(await this.heartbeat(s))) {
        this.endSession('heartbeat refused', s);
        continue;
      }
      await this.sleep(s.heartbeatTimeoutS * 1000 * (0.3 + Math.random() * 0.3));
    }
  }
}
