// A real HTTP Server-Sent Events client with EventSource's parsing rules (WHATWG HTML §9.2.6):
// a message is dispatched only at the blank line that ends it, and the last event id only
// changes then, so a connection cut in the middle of a message loses that message, exactly as a
// browser would, and a resume with Last-Event-ID must bring it back.

import { request, type IncomingMessage, type ClientRequest } from 'node:http';

export interface SseMessage {
  event: string;
  data: string;
  /** the last event id when this message was dispatched */
  lastEventId: string;
}

export class SseConnection {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  lastEventId = '';
  ended = false;
  private buf = '';
  private data: string[] = [];
  private eventType = '';
  private idBuffer = '';
  private listeners = new Set<() => void>();
  private cut: { messages: number; extraChars: number } | undefined;
  private isCut = false;

  private constructor(
    readonly req: ClientRequest,
    readonly res: IncomingMessage,
    lastEventId: string,
  ) {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.feed(chunk));
    const end = () => {
      this.ended = true;
      this.notify();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  /** Opens the stream; rejects with the status and body when it is not a 200 event stream. */
  static open(
    url: string,
    options: { lastEventId?: string; headers?: Record<string, string>; cutAfter?: { messages: number; extraChars: number } } = {},
  ): Promise<SseConnection> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
      if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
      const req = request(url, { headers }, (res) => {
        if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body, headers: res.headers })));
          return;
        }
        // set before the first chunk is parsed (buffered data flows on the next tick)
        const conn = new SseConnection(req, res, options.lastEventId ?? '');
        if (options.cutAfter) conn.cutAfter(options.cutAfter.messages, options.cutAfter.extraChars);
        resolve(conn);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** True when part of a message had arrived (and is now lost) */
  hasPartialMessage(): boolean {
    return this.buf.length > 0 || this.data.length > 0 || this.eventType !== '';
  }

  /**
   * Simulates the connection dropping at an arbitrary byte: once `messages` messages have been
   * dispatched, only `extraChars` more characters are read, then the socket is destroyed.
   */
  cutAfter(messages: number, extraChars: number): void {
    this.cut = { messages, extraChars };
    this.maybeCut();
  }

  /** Cuts the connection at once, whatever is in flight. */
  destroy(): void {
    this.req.destroy();
    this.res.destroy();
  }

  /** Resolves when pred holds (checked after every chunk), rejects after timeoutMs. */
  waitFor(pred: (c: SseConnection) => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred(this)) {
          cleanup();
          resolve();
        } else if (this.ended) {
          cleanup();
          reject(new Error(`stream ended before ${what} (${this.messages.length} messages)`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.messages.length} messages)`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private feed(chunk: string): void {
    if (this.isCut) return;
    this.buf += chunk;
    this.parseLines();
    this.maybeCut();
    this.notify();
  }

  private parseLines(): void {
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sepLen = this.buf.startsWith('\r\n', nl) ? 2 : 1;
      this.buf = this.buf.slice(nl + sepLen);
      this.line(line);
      if (!this.isCut && this.cut && this.messages.length >= this.cut.messages) return;
    }
  }

  private maybeCut(): void {
    if (this.isCut || !this.cut || this.messages.length < this.cut.messages) return;
    this.isCut = true;
    this.buf = this.buf.slice(0, this.cut.extraChars);
    this.parseLines();
    this.destroy();
    this.ended = true;
    this.notify();
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id' && !value.includes('\0')) this.idBuffer = value;
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    if (this.data.length === 0) {
      this.eventType = '';
      return;
    }
    this.messages.push({ event: this.eventType || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId });
    this.data = [];
    this.eventType = '';
  }
}
