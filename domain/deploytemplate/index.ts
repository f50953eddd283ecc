// Deploy templates (reference §3.9): a trait-like name and at least one deploy step. Step args
// may hold secrets, so they are sealed like driver_info and masked on output.

import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { DictC, partial } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError, type DomainError } from '../errors.ts';
import { deployStepInterfaces } from '../provision/states.ts';
import { findClearSecrets, SealedArgsC } from '../secrets.ts';

export const DeployTemplateStepC = t.type(
  { interface: t.string, step: t.string, args: SealedArgsC, priority: t.union([t.number, t.string]) },
  'DeployTemplateStep',
);
export type DeployTemplateStep = t.TypeOf<typeof DeployTemplateStepC>;

export const DeployTemplateFieldsC = t.type(
  { name: t.string, steps: t.array(DeployTemplateStepC), extra: DictC },
  'DeployTemplateFields',
);
export type DeployTemplateFields = t.TypeOf<typeof DeployTemplateFieldsC>;
export const DeployTemplateChangesC = partial(DeployTemplateFieldsC.props, 'DeployTemplateChanges');
export type DeployTemplateChanges = t.TypeOf<typeof DeployTemplateChangesC>;
export const DeployTemplateCreateFieldsC = t.intersection(
  [t.type({ name: t.string, steps: t.array(DeployTemplateStepC) }), partial({ extra: DictC })],
  'DeployTemplateCreateFields',
);
export type DeployTemplateCreateFields = t.TypeOf<typeof DeployTemplateCreateFieldsC>;

// os-traits standard names are upper case words; custom ones start with CUSTOM_
const TRAIT = /^(CUSTOM_[A-Z0-9_]+|[A-Z][A-Z0-9_]*)$/;
export const isValidTraitName = (name: string): boolean => name.length <= 255 && TRAIT.test(name);

const invalid = (m: string) => domainError('InvalidParameterValue', m);

const validate = (d: DeployTemplateFields): DomainError | undefined => {
  if (!isValidTraitName(d.name)) return invalid(`Invalid deploy template name ${d.name}: it must be a valid trait name.`);
  if (d.steps.length === 0) return invalid('A deploy template must have at least one deploy step.');
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const s of d.steps) {
    if (!(deployStepInterfaces as readonly string[]).includes(s.interface))
      return invalid(`Invalid deploy step interface ${s.interface}. Allowed: ${deployStepInterfaces.join(', ')}.`);
    if (s.step.length === 0) return invalid('A deploy step must have a step name.');
    const p = typeof s.priority === 'string' ? Number(s.priority) : s.priority;
    if (!Number.isInteger(p) || p < 0) return invalid(`Invalid priority ${String(s.priority)}: it must be an integer of at least 0.`);
    const key = `${s.interface}.${s.step}`;
    if (seen.has(key)) dups.push(key);
    seen.add(key);
    const clear = findClearSecrets(s.args, 'args');
    if (clear.length > 0) return invalid(`Secret values must be sealed before they are stored: ${clear.join(', ')}`);
  }
  if (dups.length > 0)
    return invalid(
      `Duplicate deploy steps. A deploy template cannot have multiple deploy steps with the same interface and step. Duplicates: ${dups.join(', ')}`,
    );
  return undefined;
};

const spec = {
  kind: 'DeployTemplate' as const,
  fields: DeployTemplateFieldsC,
  createFields: DeployTemplateCreateFieldsC,
  changes: DeployTemplateChangesC,
  build: (c: DeployTemplateCreateFields): DeployTemplateFields => ({ extra: {}, ...c }),
  notFound: (uuid: string) => domainError('DeployTemplateNotFound', `Deploy template ${uuid} could not be found.`),
  alreadyExists: (uuid: string) =>
    domainError('DeployTemplateAlreadyExists', `A deploy template with UUID ${uuid} already exists.`),
  validate,
};

export const deployTemplateCodecs = crudCodecs(spec);
export const DeployTemplateEventC = deployTemplateCodecs.event;
export const DeployTemplateCommandC = deployTemplateCodecs.command;
export type DeployTemplateEvent = CrudEvent<'DeployTemplate', DeployTemplateFields, DeployTemplateChanges>;
export type DeployTemplateCommand = CrudCommand<'DeployTemplate', DeployTemplateCreateFields, DeployTemplateChanges>;
export type DeployTemplateState = Lifecycle<DeployTemplateFields>;
export const deployTemplateDecider: Decider<DeployTemplateCommand, DeployTemplateEvent, DeployTemplateState> =
  crudDecider(spec);
