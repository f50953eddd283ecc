// Uniqueness under concurrency against a real EventStoreDB, only when EVENTSTORE_URL points at
// one. Without it this file registers no test (a skipped suite is never counted as passed).
const url = process.env.EVENTSTORE_URL?.trim();

if (!url) {
  console.log('eventstoredb uniqueness: SKIPPED (EVENTSTORE_URL not set)');
} else {
  const { test } = await import('uvu');
  const { uniquenessSuite } = await import('./uniqueness-suite.ts');
  const { openEventStoreDb } = await import('../../eventstore/eventstoredb.ts');
  uniquenessSuite(test, 'eventstoredb', async () => {
    const a = openEventStoreDb(url);
    const b = openEventStoreDb(url);
    return { a, b, close: async () => { await a.close(); await b.close(); } };
  });
  test.run();
}
