// Builds an API app for a test: in-memory fakes, no logging, noauth unless told otherwise.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../api/app.ts';
import { loadApiConfig, type ApiConfig } from '../../../api/config.ts';
import { makeFakes, type FakeOptions, type Fakes } from './fakes.ts';

export interface TestApp {
  app: FastifyInstance;
  fakes: Fakes;
  config: ApiConfig;
}

export const testApp = async (env: Record<string, string> = {}, fakeOptions: FakeOptions = {}): Promise<TestApp> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-api-'));
  const config = loadApiConfig({ IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth', ...env });
  const fakes = makeFakes(fakeOptions);
  const app = buildApp(fakes.deps, config, { logger: false });
  await app.ready();
  return { app, fakes, config };
};

export const writeHtpasswd = (lines: string[]): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlog-htpasswd-'));
  const file = join(dir, 'htpasswd');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
};

/** Decodes Ironic's double-encoded error body. */
export const innerError = (body: string): Record<string, unknown> => {
  const outer = JSON.parse(body) as { error_message: string };
  if (typeof outer.error_message !== 'string') throw new Error(`not an Ironic error body: ${body}`);
  return JSON.parse(outer.error_message) as Record<string, unknown>;
};

export const latest = { 'x-openstack-ironic-api-version': 'latest' };
export const v = (version: string) => ({ 'x-openstack-ironic-api-version': version });
