// Ironic's deploy templates at deploy time (conductor/steps.py, _get_steps_from_deployment_templates
// and validate_deploy_templates): the templates named by the instance's traits
// (instance_info.traits) add their steps to the deploy plan, and a template step the node's driver
// does not have refuses the deploy before anything is recorded. Templates are found through their
// name claims and folded from their own streams: the log, never a read model that may lag.

import * as E from 'fp-ts/lib/Either.js';
import { claimStream } from '../../command-handling/claims.ts';
import { loadAggregate } from '../../command-handling/handle.ts';
import { bindingFor } from '../../command-handling/registry.ts';
import type { DeployTemplateState } from '../../domain/deploytemplate/index.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import type { Node, Step } from '../../domain/node/index.ts';
import { findStep, type Driver } from '../../drivers/hardware-type.ts';
import type { EventStore } from '../../eventstore/port.ts';

const instanceTraits = (node: Node): string[] => {
  const traits = (node.instance_info as Record<string, unknown>).traits;
  return Array.isArray(traits) ? [...new Set(traits.filter((x): x is string => typeof x === 'string'))] : [];
};

/** The steps of the deploy templates matching the node's instance traits, in trait order. */
export const templateSteps = async (store: EventStore, driver: Driver, node: Node): Promise<E.Either<DomainError, Step[]>> => {
  const steps: Step[] = [];
  const matching: string[] = [];
  const unsupported: string[] = [];
  for (const name of instanceTraits(node)) {
    const [claim] = await store.readStream(claimStream({ kind: 'deploytemplate-name', value: name }), { direction: 'backwards', maxCount: 1 });
    const owner = claim?.type === 'ClaimAcquired' ? (claim.data as { owner?: unknown }).owner : undefined;
    if (typeof owner !== 'string') continue;
    const { state } = (await loadAggregate(store, bindingFor('deploytemplate'), owner)) as { state: DeployTemplateState };
    // a claim outlives a rename or delete only briefly: the template must still bear the name
    if (state.status !== 'present' || state.doc.name !== name) continue;
    matching.push(name);
    for (const s of state.doc.steps) {
      if (!findStep(driver, 'deploy', s.interface, s.step)) unsupported.push(`${s.interface}.${s.step}`);
      steps.push({ interface: s.interface, step: s.step, args: s.args, priority: Number(s.priority) });
    }
  }
  if (unsupported.length > 0) {
    return E.left(
      domainError(
        'InvalidParameterValue',
        `Validation of deploy steps from deploy templates matching this node's instance traits failed. Matching deploy templates: ${matching.join(', ')}. Errors: node ${node.uuid} does not support the following deploy steps: ${unsupported.join(', ')}`,
      ),
    );
  }
  return E.right(steps);
};

/** The user's deploy_steps override a template step of the same interface and name (they come later). */
export const withTemplateSteps = (fromTemplates: readonly Step[], requested: readonly Step[] | undefined): Step[] | undefined =>
  fromTemplates.length === 0 ? (requested as Step[] | undefined) : [...fromTemplates, ...(requested ?? [])];
