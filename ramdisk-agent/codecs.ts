// io-ts codecs of everything the agent reads: Ironic's lookup answer, the conductor's command
// requests and their params (IPA's REST API, reference §7.3).

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

const Dict = t.record(t.string, t.unknown);

/** GET /v1/lookup (reference §7.1): what the agent uses of it */
export const LookupReplyC = t.type(
  {
    node: t.type({ uuid: t.string }),
    config: t.intersection([t.type({ heartbeat_timeout: t.number }), t.partial({ agent_token: t.union([t.string, t.null]), agent_token_required: t.boolean })]),
  },
  'LookupReply',
);
export type LookupReply = t.TypeOf<typeof LookupReplyC>;

/** POST /v1/commands body */
export const CommandRequestC = t.type({ name: t.string, params: t.union([Dict, t.undefined, t.null]) }, 'CommandRequest');
export type CommandRequest = t.TypeOf<typeof CommandRequestC>;

export const StepC = t.intersection([t.type({ interface: t.string, step: t.string }), t.partial({ args: t.union([Dict, t.null]), priority: t.unknown })], 'Step');
export type Step = t.TypeOf<typeof StepC>;

/** deploy.execute_deploy_step / clean.execute_clean_step params */
export const ExecuteStepParamsC = t.intersection([t.type({ step: StepC }), t.partial({ node: t.unknown, ports: t.unknown })], 'ExecuteStepParams');

/** rescue.finalize_rescue params (Ironic sends the password, hashed or not) */
export const FinalizeRescueParamsC = t.intersection([t.type({ rescue_password: t.string }), t.partial({ hashed: t.boolean })], 'FinalizeRescueParams');

/** write_image's image_info (Ironic's AgentDeploy builds it from instance_info) */
export const ImageInfoC = t.intersection(
  [
    t.type({ id: t.string, urls: t.array(t.string) }),
    t.partial({ checksum: t.string, os_hash_algo: t.string, os_hash_value: t.string, disk_format: t.string, node_uuid: t.string }),
  ],
  'ImageInfo',
);
export type ImageInfo = t.TypeOf<typeof ImageInfoC>;

/** Decodes or throws an InvalidCommandParamsError (the command fails with it). */
export const decodeOrThrow = <A>(codec: t.Decoder<unknown, A>, u: unknown, what: string): A => {
  const r = codec.decode(u);
  if (E.isRight(r)) return r.right;
  const first = r.left[0];
  const path = first ? first.context.map((c) => c.key).filter((k) => k !== '').join('.') : '';
  throw new AgentError('InvalidCommandParamsError', 400, `Invalid ${what}${path ? `: bad value at ${path}` : ''}`);
};

/** IPA's RESTError: serialised as {type, code, message, details}. */
export class AgentError extends Error {
  constructor(readonly type: string, readonly code: number, message: string, readonly details = '') {
    super(message);
    this.name = type;
  }
  toJSON(): { type: string; code: number; message: string; details: string } {
    return { type: this.type, code: this.code, message: this.message, details: this.details };
  }
}
