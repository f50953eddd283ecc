// The event publisher: every committed event on NATS JetStream (see README.md).
export { startPublisher, type Publisher, type PublisherLog, type PublisherOptions, type PublisherStatus } from './publisher.ts';
export { EVENTS_STREAM, EVENTS_STREAM_SUBJECTS, eventSubject, Headers, publicStreamPrefixes, isPublicStream, SUBJECT_ROOT, subjectFilter } from './subjects.ts';
export { maskDeep, renderEvent, type EventJson, type Masker } from './wire.ts';
export { CHECKPOINT_FILE, checkpointPath, readCheckpoint } from './checkpoint.ts';
