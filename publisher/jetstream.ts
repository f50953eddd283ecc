// The JetStream side of the publisher: make sure the events stream exists, and read where it
// ends (its last sequence, and the log position that last message carries).

import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type NatsError } from 'nats';
import { EVENTS_STREAM_SUBJECTS, Headers } from './subjects.ts';

const STREAM_NOT_FOUND = 10059;

const isStreamNotFound = (e: unknown): boolean => {
  const ne = e as Partial<NatsError> | undefined;
  return ne?.api_error?.err_code === STREAM_NOT_FOUND || (ne?.code === '404' && /stream not found/i.test(String(ne.message)));
};

export interface StreamSettings {
  name: string;
  /** JetStream's dedup window on Nats-Msg-Id, ms */
  duplicateWindowMs: number;
  /** how long messages are kept, ms; 0 = for ever */
  maxAgeMs: number;
}

/** Creates the stream when it is missing; an existing stream is used as it is configured. */
export const ensureStream = async (jsm: JetStreamManager, s: StreamSettings): Promise<{ created: boolean; subjects: string[] }> => {
  try {
    const info = await jsm.streams.info(s.name);
    return { created: false, subjects: info.config.subjects ?? [] };
  } catch (e) {
    if (!isStreamNotFound(e)) throw e;
  }
  const info = await jsm.streams.add({
    name: s.name,
    subjects: [EVENTS_STREAM_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(s.maxAgeMs),
    duplicate_window: nanos(s.duplicateWindowMs),
    description: 'every committed ironlog event (see publisher/README.md)',
  });
  return { created: true, subjects: info.config.subjects ?? [] };
};

export interface StreamTail {
  /** the stream's last sequence (0 when it has never held a message) */
  lastSeq: number;
  /** the log position carried by the last message, when there is one and it carries one */
  position: bigint | undefined;
}

export const streamTail = async (jsm: JetStreamManager, name: string): Promise<StreamTail> => {
  const info = await jsm.streams.info(name);
  const lastSeq = info.state.last_seq;
  if (info.state.messages === 0) return { lastSeq, position: undefined };
  let header: string | undefined;
  try {
    const m = await jsm.streams.getMessage(name, { seq: lastSeq });
    header = m.header.get(Headers.position);
  } catch {
    // the last message was deleted by hand: take the last one still there
    const m = await jsm.streams.getMessage(name, { last_by_subj: EVENTS_STREAM_SUBJECTS });
    header = m.header.get(Headers.position);
  }
  return { lastSeq, position: header && /^\d+$/.test(header) ? BigInt(header) : undefined };
};
