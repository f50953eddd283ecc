// The agent-driven interfaces (Ironic's `direct` deploy and its in-band cleaning), added to a
// hardware type as one more deploy implementation, plus where the conductor's secret key comes
// from: the agent token is sealed in the log and the conductor must open it to call the agent.

import { existsSync } from 'node:fs';

import type { SealedSecret } from '../../domain/secrets.ts';
import { loadSecretKey, secretKeyFile } from '../../secrets/key.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';
import { driverFor, type HardwareType } from '../hardware-type.ts';
import { httpAgentClient, type AgentClient } from './client.ts';
import { agentDeploy } from './deploy.ts';
import { agentRescue } from './rescue.ts';
import type { Node } from '../../domain/node/index.ts';

export { isAgentDriven, type AgentDeployInterface, type InBandStatus } from './deploy.ts';
export { isAgentRescue, type AgentRescueInterface } from './rescue.ts';
export { httpAgentClient, type AgentClient } from './client.ts';

export interface AgentOptions {
  client?: AgentClient;
  /** opens sealed secrets; default: IRONLOG_SECRET_KEY, else the dev key file of the data dir if one exists */
  opener?: () => ((s: SealedSecret) => string) | undefined;
}

/** The key the API sealed the token with: IRONLOG_SECRET_KEY, or `ironlog … --dev`'s key file. Never generated here. */
export const envOpener = (env: NodeJS.ProcessEnv = process.env): (() => ((s: SealedSecret) => string) | undefined) => {
  let cached: ((s: SealedSecret) => string) | null | undefined;
  return () => {
    if (cached !== undefined) return cached ?? undefined;
    const dataDir = env.IRONLOG_DATA_DIR ?? './data';
    const hasKey = (env.IRONLOG_SECRET_KEY ?? '') !== '' || existsSync(secretKeyFile(dataDir));
    if (!hasKey) {
      cached = null;
      return undefined;
    }
    const box = createSecretBox(loadSecretKey({ env, dataDir, dev: true }).key);
    cached = (s) => box.open(s);
    return cached;
  };
};

/** `hw` with the `direct` deploy and `agent` rescue interfaces after its own ones (its defaults stay first). */
export const withAgentDeploy = (hw: HardwareType, o: AgentOptions = {}): HardwareType => {
  let combined: HardwareType;
  const shared = {
    client: o.client ?? httpAgentClient(),
    opener: o.opener ?? envOpener(),
    interfacesOf: (node: Node) => {
      const d = driverFor(combined, node);
      return { power: d.power, boot: d.boot };
    },
  };
  const impl = hw.implementations;
  combined = {
    ...hw,
    implementations: {
      ...impl,
      deploy: [...impl.deploy, ['direct', agentDeploy(shared)]],
      rescue: [...impl.rescue, ['agent', agentRescue(shared)]],
    },
  };
  return combined;
};

