// The provision state machine against the reference, row by row. The three tables below are
// copied literally from /work/shared/ironic-v1-reference.md (§4.1, §4.3, §4.4); the test parses
// them, so a row that drifts from the reference fails here.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import {
  DELETE_ALLOWED_STATES,
  deleteAllowedStates,
  FAILURE_STATES,
  FASTTRACK_LOOKUP_ALLOWED_STATES,
  LOOKUP_ALLOWED_STATES,
  STABLE_STATES,
  STUCK_STATES_TREATED_AS_FAIL,
  UNSTABLE_STATES,
  UPDATE_ALLOWED_STATES,
  defaultTarget,
  provisionEvents,
  provisionStates,
  provisionVerbs,
  isProvisionState,
  type ProvisionEvent,
  type ProvisionState,
} from '../../domain/provision/states.ts';
import { transition, transitionTable, verbAllowedIn, findTransition } from '../../domain/provision/transitions.ts';
import { powerVerbs } from '../../domain/power/states.ts';

// ---- §4.3, literally ----------------------------------------------------------------------
const REFERENCE_4_3: string[] = [
  "\"Target\" = target_provision_state after the transition.",
  "",
  "| From | Event | To | Target | Trigger / notes |",
  "|---|---|---|---|---|",
  "| enroll | manage | verifying | manageable | API `manage`; the power interface is validated |",
  "| verifying | done | manageable | null | int |",
  "| verifying | fail | **enroll** | null | int; last_error set |",
  "| manageable | provide | cleaning | available | API `provide` (automated clean; if disabled it passes straight through) |",
  "| manageable | clean | cleaning | **manageable** | API `clean` (manual) |",
  "| manageable | inspect | inspecting | manageable | API |",
  "| manageable | adopt | adopting | active | API |",
  "| available | manage | manageable | null | API (synchronous) |",
  "| available | deploy | deploying | active | API `active`/`deploy` |",
  "| cleaning | wait | clean wait | (kept) | int (an async step returned CLEANWAIT) |",
  "| clean wait | resume | cleaning | (kept) | int (agent heartbeat, step done) |",
  "| cleaning | done | available | null | int (automated) |",
  "| cleaning | manage | manageable | null | int (end of manual clean) |",
  "| cleaning | fail | clean failed | available / manageable | int |",
  "| clean wait | fail | clean failed | kept | int (callback timeout 1800 s, or error) |",
  "| clean wait | abort | clean failed | kept | API `abort`. If the current step is not abortable, the abort is deferred: `abort_after` is set on clean_step and the node stays in clean wait. |",
  "| clean failed | manage | manageable | null | API |",
  "| inspecting | done | manageable | null | int (driver returned manageable) |",
  "| inspecting | wait | inspect wait | manageable | int (async inspection) |",
  "| inspecting | fail | inspect failed | manageable | int |",
  "| inspect wait | done | manageable | null | int (inspector callback) |",
  "| inspect wait | fail | inspect failed | manageable | int (timeout 1800 s) |",
  "| inspect wait | abort | inspect failed | manageable | API `abort` (≥1.41) |",
  "| inspect failed | manage | manageable | null | API |",
  "| inspect failed | inspect | inspecting | manageable | API |",
  "| deploying | wait | wait call-back | active | int (step returned DEPLOYWAIT: rebooting into the agent) |",
  "| wait call-back | resume | deploying | active | int (agent heartbeat) |",
  "| deploying | done | **active** | null | int |",
  "| deploying | fail | deploy failed | active | int |",
  "| wait call-back | fail | deploy failed | active | int (deploy_callback_timeout 1800 s) |",
  "| deploy failed | rebuild / deploy | deploying | active | API `rebuild` / `active` / `deploy` |",
  "| active | rebuild | deploying | active | API |",
  "| error | rebuild | deploying | active | API |",
  "| active / wait call-back / deploy failed / error | delete | deleting | available | API `deleted`/`undeploy` |",
  "| rescue / rescue wait / rescue failed / unrescue failed | delete | deleting | available | API (rescue clean-up runs first) |",
  "| deleting | clean | cleaning | available | int (after tear_down; automated clean) |",
  "| deleting | fail | **error** | null | int |",
  "| adopting | done | active | null | int (boot validate + takeover succeeded) |",
  "| adopting | fail | adopt failed | active | int (power_state is reset to null) |",
  "| adopt failed | adopt | adopting | active | API |",
  "| adopt failed | manage | manageable | null | API |",
  "| active | rescue | rescuing | rescue | API |",
  "| rescue / rescue failed / unrescue failed | rescue | rescuing | rescue | API |",
  "| rescuing | wait | rescue wait | rescue | int |",
  "| rescue wait | resume | rescuing | rescue | int (agent heartbeat → finalize_rescue) |",
  "| rescuing | done | rescue | null | int |",
  "| rescuing / rescue wait | fail | rescue failed | rescue | int (rescue_callback_timeout 1800 s) |",
  "| rescue wait | abort | rescue failed | rescue | API `abort` |",
  "| rescue / rescue failed / unrescue failed | unrescue | unrescuing | active | API |",
  "| unrescuing | done | active | null | int |",
  "| unrescuing | fail | unrescue failed | active | int |",
];

// ---- §4.4, literally ----------------------------------------------------------------------
const REFERENCE_4_4: string[] = [
  "| Group | Members | Used for |",
  "|---|---|---|",
  "| UPDATE_ALLOWED | deploy failed, inspecting, inspect failed, inspect wait, clean failed, error, verifying, adopt failed, rescue failed, unrescue failed | PATCH allowed despite a target being set |",
  "| DELETE_ALLOWED | manageable, enroll, adopt failed (+available by config) | node DELETE |",
  "| STABLE | enroll, manageable, available, active, error, rescue | target cleared |",
  "| UNSTABLE | deploying, wait call-back, cleaning, clean wait, verifying, deleting, inspecting, inspect wait, adopting, rescuing, rescue wait, unrescuing | boot_mode/secure_boot refused (409) |",
  "| STUCK_TREATED_AS_FAIL | deploying, cleaning, verifying, inspecting, adopting, rescuing, unrescuing, deleting | on conductor start: unreserved nodes mapped to it get `fail` |",
  "| LOOKUP_ALLOWED | deploying, wait call-back, cleaning, clean wait, inspecting, inspect wait, rescuing, rescue wait | `/v1/lookup` when `[api]restrict_lookup` (default true) |",
  "| FASTTRACK_LOOKUP | the above + enroll, manageable, available | fast-track mode |",
  "| FAILURE | deploy failed, clean failed, inspect failed, rescue failed, unrescue failed, adopt failed | |",
];

// ---- §4.1, literally ----------------------------------------------------------------------
const REFERENCE_4_1: string[] = [
  "| State (literal) | Stable? | Default target while in it | Meaning |",
  "|---|---|---|---|",
  "| `enroll` | yes | – | new node (≥1.11); not yet verified |",
  "| `verifying` | no | manageable | power credentials being validated |",
  "| `manageable` | yes | – | verified; can inspect/clean/adopt |",
  "| `inspecting` | no | manageable | inspection running (sync part) |",
  "| `inspect wait` | no | manageable | async inspection (≥1.39) |",
  "| `inspect failed` | no | manageable | |",
  "| `cleaning` | no | available (manageable for manual clean) | |",
  "| `clean wait` | no | same as cleaning | waiting on the agent/BMC for a clean step |",
  "| `clean failed` | no | available / manageable | |",
  "| `available` | yes | – | schedulable (was `null` before 1.2) |",
  "| `deploying` | no | active | |",
  "| `wait call-back` | no | active | DEPLOYWAIT: waiting for the agent |",
  "| `deploy failed` | no | active | |",
  "| `active` | yes | – | deployed |",
  "| `deleting` | no | available | tear down |",
  "| `error` | yes | – | tear down failed, etc. |",
  "| `adopting` | no | active | |",
  "| `adopt failed` | no | active | |",
  "| `rescuing` | no | rescue | |",
  "| `rescue wait` | no | rescue | |",
  "| `rescue failed` | no | rescue | |",
  "| `rescue` | yes | – | running the rescue ramdisk |",
  "| `unrescuing` | no | active | |",
  "| `unrescue failed` | no | active | |",
];

const cells = (line: string): string[] =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
const clean = (s: string): string => s.replace(/\*\*/g, '').replace(/`/g, '').trim();
const dataRows = (lines: string[]): string[][] =>
  lines.filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l) && !/^\|\s*---/.test(l)).slice(1).map(cells);
const splitSlash = (s: string): string[] => clean(s).split(' / ').map((x) => x.trim());

interface RefRow {
  from: ProvisionState;
  event: ProvisionEvent;
  to: ProvisionState;
  target: 'null' | 'kept' | ProvisionState;
  trigger: 'api' | 'internal';
  line: string;
}

const asState = (s: string): ProvisionState => {
  if (!isProvisionState(s)) throw new Error(`not a state in the reference table: "${s}"`);
  return s;
};
const asEvent = (s: string): ProvisionEvent => {
  if (!(provisionEvents as readonly string[]).includes(s)) throw new Error(`not an event: "${s}"`);
  return s as ProvisionEvent;
};

const refRows: RefRow[] = dataRows(REFERENCE_4_3).flatMap((c) => {
  const [fromCell, eventCell, toCell, targetCell, triggerCell] = c as [string, string, string, string, string];
  const target = clean(targetCell);
  const t: RefRow['target'] =
    target === 'null' ? 'null' : target === '(kept)' || target === 'kept' || target === 'available / manageable' ? 'kept' : asState(target);
  const trigger = clean(triggerCell).startsWith('API') ? 'api' : 'internal';
  return splitSlash(fromCell).flatMap((from) =>
    splitSlash(eventCell).map((event) => ({
      from: asState(from),
      event: asEvent(event),
      to: asState(clean(toCell)),
      target: t,
      trigger,
      line: `${from} --${event}--> ${clean(toCell)}`,
    })),
  );
});

test('the literal §4.3 table parses into 63 rows (after expanding "a / b")', () => {
  assert.is(refRows.length, 63);
});

for (const r of refRows) {
  test(`§4.3 ${r.line} (target ${r.target}, ${r.trigger})`, () => {
    const priorTargets: (ProvisionState | null)[] = r.target === 'kept' ? ['available', 'manageable', 'active'] : [null, 'available'];
    for (const prior of priorTargets) {
      const res = transition(r.from, prior, r.event);
      if (E.isLeft(res)) return assert.unreachable(`rejected: ${res.left.message}`);
      assert.is(res.right.state, r.to);
      const expected = r.target === 'null' ? null : r.target === 'kept' ? prior : r.target;
      assert.is(res.right.target, expected, `target from prior ${prior}`);
    }
    assert.is(findTransition(r.from, r.event)?.trigger, r.trigger);
  });
}

test('the code table has exactly the reference rows, no more', () => {
  const ref = new Set(refRows.map((r) => `${r.from}|${r.event}|${r.to}`));
  const code = new Set(transitionTable.map((r) => `${r.from}|${r.event}|${r.to}`));
  assert.equal([...code].filter((x) => !ref.has(x)), []);
  assert.equal([...ref].filter((x) => !code.has(x)), []);
  assert.is(transitionTable.length, refRows.length);
});

test('every (state, event) pair not in the table is rejected: 400 InvalidStateRequested', () => {
  const ref = new Set(refRows.map((r) => `${r.from}|${r.event}`));
  let rejected = 0;
  for (const s of provisionStates)
    for (const ev of provisionEvents) {
      if (ref.has(`${s}|${ev}`)) continue;
      const res = transition(s, null, ev, { node: 'n-1' });
      if (E.isRight(res)) return assert.unreachable(`${s} --${ev}--> accepted`);
      assert.is(res.left.errorClass, 'InvalidStateRequested');
      assert.is(res.left.status, 400);
      assert.is(res.left.message, `The requested action "${ev}" can not be performed on node "n-1" while it is in state "${s}".`);
      rejected++;
    }
  assert.is(rejected, 24 * 15 - 63);
});

test('a keep rule with no prior target falls back to the state default', () => {
  const res = transition('cleaning', null, 'wait');
  assert.equal(res, E.right({ state: 'clean wait', target: 'available' }));
});

test('manual clean keeps manageable across wait, resume and failure', () => {
  let pos = { state: 'manageable' as ProvisionState, target: null as ProvisionState | null };
  for (const ev of ['clean', 'wait', 'resume', 'wait', 'fail'] as ProvisionEvent[]) {
    const r = transition(pos.state, pos.target, ev);
    if (E.isLeft(r)) return assert.unreachable(r.left.message);
    pos = { ...r.right };
    assert.is(pos.target, 'manageable', `after ${ev}`);
  }
  assert.is(pos.state, 'clean failed');
});

test('API verbs map to rows fired by the API only', () => {
  assert.ok(verbAllowedIn('manage', 'enroll'));
  assert.not.ok(verbAllowedIn('provide', 'enroll'));
  // cleaning --manage--> manageable is the conductor's (end of manual clean), not a user verb
  assert.not.ok(verbAllowedIn('manage', 'cleaning'));
  assert.not.ok(verbAllowedIn('clean', 'deleting'));
  assert.ok(verbAllowedIn('active', 'available'));
  assert.ok(verbAllowedIn('deploy', 'deploy failed'));
  assert.ok(verbAllowedIn('deleted', 'wait call-back'));
  assert.ok(verbAllowedIn('undeploy', 'rescue failed'));
  assert.ok(verbAllowedIn('abort', 'inspect wait'));
  for (const r of refRows.filter((x) => x.trigger === 'api')) {
    const verbs = Object.values(provisionVerbs).filter((v) => v.event === r.event);
    assert.ok(verbs.length > 0, `a verb fires ${r.event}`);
  }
});

test('verbs table (§4.2): events and minimum microversions', () => {
  const expected: Record<string, [string, number]> = {
    active: ['deploy', 1], deploy: ['deploy', 73], rebuild: ['rebuild', 1], deleted: ['delete', 1], undeploy: ['delete', 73],
    manage: ['manage', 4], provide: ['provide', 4], inspect: ['inspect', 6], clean: ['clean', 15], abort: ['abort', 13],
    adopt: ['adopt', 17], rescue: ['rescue', 38], unrescue: ['unrescue', 38],
  };
  assert.equal(
    Object.fromEntries(Object.entries(provisionVerbs).map(([k, v]) => [k, [v.event, v.minMicroversion]])),
    expected,
  );
  assert.ok(provisionVerbs.clean.bodyKeys.clean_steps.required);
  assert.ok(provisionVerbs.rescue.bodyKeys.rescue_password.required);
  assert.is(provisionVerbs.rebuild.bodyKeys.configdrive.minMicroversion, 35);
});

test('power verbs (§4.6)', () => {
  assert.equal(
    Object.fromEntries(Object.entries(powerVerbs).map(([k, v]) => [k, [v.targetPowerState, v.minMicroversion]])),
    {
      'power on': ['power on', 1], 'power off': ['power off', 1], rebooting: ['power on', 1],
      'soft rebooting': ['power on', 27], 'soft power off': ['power off', 27],
    },
  );
});

const groupMembers = (cell: string): string[] => clean(cell).replace(/\(.*?\)/g, '').split(',').map((s) => s.trim()).filter(Boolean);

test('§4.4 state groups match the reference', () => {
  const rows = new Map(dataRows(REFERENCE_4_4).map((c) => [clean(c[0] as string), c[1] as string]));
  const sorted = (s: Iterable<string>) => [...s].sort();
  assert.equal(sorted(UPDATE_ALLOWED_STATES), sorted(groupMembers(rows.get('UPDATE_ALLOWED')!)));
  assert.equal(sorted(deleteAllowedStates(false)), sorted(groupMembers(rows.get('DELETE_ALLOWED')!)));
  assert.equal(sorted(DELETE_ALLOWED_STATES), sorted([...groupMembers(rows.get('DELETE_ALLOWED')!), 'available']));
  assert.equal(sorted(STABLE_STATES), sorted(groupMembers(rows.get('STABLE')!)));
  assert.equal(sorted(UNSTABLE_STATES), sorted(groupMembers(rows.get('UNSTABLE')!)));
  assert.equal(sorted(STUCK_STATES_TREATED_AS_FAIL), sorted(groupMembers(rows.get('STUCK_TREATED_AS_FAIL')!)));
  assert.equal(sorted(LOOKUP_ALLOWED_STATES), sorted(groupMembers(rows.get('LOOKUP_ALLOWED')!)));
  const fast = groupMembers(rows.get('FASTTRACK_LOOKUP')!.replace('the above +', ''));
  assert.equal(sorted(FASTTRACK_LOOKUP_ALLOWED_STATES), sorted([...LOOKUP_ALLOWED_STATES, ...fast]));
  assert.equal(sorted(FAILURE_STATES), sorted(groupMembers(rows.get('FAILURE')!)));
  for (const s of [...STABLE_STATES, ...UNSTABLE_STATES]) assert.ok(isProvisionState(s));
});

test('§4.1: 24 states, stability and default targets', () => {
  const rows = dataRows(REFERENCE_4_1);
  assert.is(rows.length, 24);
  assert.equal([...provisionStates].sort(), rows.map((c) => clean(c[0] as string)).sort());
  for (const c of rows) {
    const s = asState(clean(c[0] as string));
    assert.is(STABLE_STATES.has(s), clean(c[1] as string) === 'yes', `stable ${s}`);
    const t = clean(c[2] as string);
    const expected = t === '–' ? null : (t.split(' ')[0] === 'same' ? 'available' : t.split(' ')[0]);
    assert.is(defaultTarget[s], expected === 'available' || expected === null ? expected : asState(expected.replace(/,$/, '')), `default target of ${s}`);
  }
});

test.run();
