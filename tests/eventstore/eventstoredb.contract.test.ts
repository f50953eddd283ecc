// The port's contract against a real EventStoreDB, only when EVENTSTORE_URL points at one.
// Without it this file registers no test at all (a skipped contract is never counted as passed).
const url = process.env.EVENTSTORE_URL?.trim();

if (!url) {
  console.log('eventstoredb contract: SKIPPED (EVENTSTORE_URL not set)');
} else {
  const { eventStoreContract } = await import('../../eventstore/contract.ts');
  const { openEventStoreDb } = await import('../../eventstore/eventstoredb.ts');
  // Every test gets its own client; streams carry a random prefix, so a shared server is fine.
  const test = eventStoreContract('eventstoredb', async () => openEventStoreDb(url));
  test.run();
}
