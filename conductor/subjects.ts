// The NATS subject scheme (documented in conductor/README.md). Hostnames may contain dots (FQDNs)
// and other characters that NATS treats specially, so every variable part is escaped into one
// subject token.

const prefix = 'ironlog';

/** One subject token: '.', '*', '>', '%' and whitespace become %XX; everything else is kept. */
export const subjectToken = (s: string): string => {
  if (s === '') return '%00';
  return s.replace(/[.*>%\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
};

export const fromSubjectToken = (token: string): string =>
  token === '%00' ? '' : token.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

export const subjects = {
  /** every conductor publishes here every heartbeat interval */
  heartbeat: (host: string) => `${prefix}.conductor.heartbeat.${subjectToken(host)}`,
  heartbeatAll: `${prefix}.conductor.heartbeat.*`,
  /** published after each membership append, so every process re-reads the ring at once */
  membershipChanged: `${prefix}.membership.changed`,
  /** node work for the node's owner, request/reply */
  nodeWork: (owner: string, nodeUuid: string) => `${prefix}.node.${subjectToken(owner)}.${subjectToken(nodeUuid)}`,
  /** what a conductor subscribes to: all work addressed to it */
  nodeWorkFor: (owner: string) => `${prefix}.node.${subjectToken(owner)}.*`,
  /** work that is not about a node (driver properties, vendor passthru): any conductor, queue group */
  anyConductor: (group: string) => `${prefix}.conductor.any.${subjectToken(group.toLowerCase())}`,
  anyConductorQueue: 'ironlog-conductors',
};
