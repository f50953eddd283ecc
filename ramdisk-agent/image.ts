// write_image: the agent's "disk" is a directory (--image-dir). The image named by image_info's
// URL (file://, or http(s)://) is streamed into a temporary file there while it is hashed; it is
// renamed into place only when the hash matches the checksum Ironic sent (os_hash_algo +
// os_hash_value, else the legacy `checksum`, whose algorithm follows from its length).

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { AgentError, type ImageInfo } from './codecs.ts';

const ALGOS_BY_LENGTH: Record<number, string> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };
const ALLOWED = new Set(['md5', 'sha1', 'sha256', 'sha384', 'sha512']);

const expected = (info: ImageInfo): { algo: string; value: string } => {
  if (info.os_hash_algo && info.os_hash_value) {
    const algo = info.os_hash_algo.toLowerCase();
    if (!ALLOWED.has(algo)) throw new AgentError('ImageChecksumError', 500, `Unsupported image hash algorithm ${info.os_hash_algo}`);
    return { algo, value: info.os_hash_value.toLowerCase() };
  }
  if (info.checksum) {
    const value = info.checksum.toLowerCase();
    const algo = ALGOS_BY_LENGTH[value.length];
    if (!algo) throw new AgentError('ImageChecksumError', 500, `Cannot tell the algorithm of checksum ${info.checksum}`);
    return { algo, value };
  }
  throw new AgentError('ImageChecksumError', 500, `Image ${info.id} has no checksum to verify it with`);
};

const source = async (url: string): Promise<NodeJS.ReadableStream> => {
  const u = new URL(url);
  if (u.protocol === 'file:') return createReadStream(fileURLToPath(u));
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    const res = await fetch(u);
    if (!res.ok || !res.body) throw new AgentError('ImageDownloadError', 500, `Error downloading image ${url}: HTTP ${res.status}`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
  throw new AgentError('ImageDownloadError', 500, `Unsupported image URL scheme ${u.protocol} in ${url}`);
};

/** Writes the image into `dir`; resolves to its path. */
export const writeImage = async (dir: string, info: ImageInfo): Promise<{ path: string; bytes: number; algo: string }> => {
  const url = info.urls[0];
  if (!url) throw new AgentError('ImageDownloadError', 500, `Image ${info.id} has no URL`);
  const want = expected(info);
  await mkdir(dir, { recursive: true });
  const name = basename(new URL(url).pathname) || info.id;
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.part`);
  const hash = createHash(want.algo);
  let bytes = 0;
  try {
    const input = await source(url);
    input.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    await pipeline(input, createWriteStream(tmp));
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof AgentError) throw e;
    throw new AgentError('ImageDownloadError', 500, `Error downloading image ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const got = hash.digest('hex');
  if (got !== want.value) {
    await rm(tmp, { force: true });
    throw new AgentError('ImageChecksumError', 500, `The checksum of image ${info.id} did not match: expected ${want.value} (${want.algo}), got ${got}`);
  }
  await rename(tmp, target);
  return { path: target, bytes, algo: want.algo };
};
