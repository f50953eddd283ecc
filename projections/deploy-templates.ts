// Deploy templates (§3.9): by uuid or name (a trait name); list with paging.

import type Database from 'better-sqlite3';
import type * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import { crudModel, crudSpec, getCrudByIdent, listCrud, type ListPage } from './crud-docs.ts';
import type { Collection, PageQuery } from './paging.ts';

export const deployTemplatesSpec = crudSpec({
  name: 'deploy_templates',
  kind: 'deploytemplate',
  table: 'deploy_templates',
  columns: [{ name: 'uuid' }, { name: 'name', index: true }, { name: 'created_at' }, { name: 'updated_at' }],
});

export const deployTemplatesModel = crudModel(deployTemplatesSpec);

const sortable = ['uuid', 'name', 'created_at', 'updated_at'];

export const deployTemplatesCollection: Collection = {
  table: 'deploy_templates',
  sortable,
  unsortable: ['extra', 'steps'],
  fields: [...sortable, 'extra', 'steps'],
  markerNotFound: (m) => domainError('DeployTemplateNotFound', `Deploy template ${m} could not be found.`),
};

export const listDeployTemplates = (db: Database.Database, q: PageQuery = {}): E.Either<DomainError, ListPage> =>
  listCrud(db, deployTemplatesCollection, { sql: [], params: [] }, q);

export const getDeployTemplate = (db: Database.Database, uuidOrName: string) => getCrudByIdent(db, 'deploy_templates', uuidOrName);

/** Templates whose names are among the traits (deploy-time step contribution). */
export const deployTemplatesNamed = (db: Database.Database, names: readonly string[]): Record<string, unknown>[] => {
  if (names.length === 0) return [];
  return db
    .prepare<string[], { doc: string }>(`SELECT doc FROM deploy_templates WHERE live = 1 AND name IN (${names.map(() => '?').join(', ')}) ORDER BY seq`)
    .all(...names)
    .map((r) => (JSON.parse(r.doc) as { doc: Record<string, unknown> }).doc);
};
