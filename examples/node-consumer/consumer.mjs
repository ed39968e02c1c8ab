#!/usr/bin/env node
// Reads Dropwire's published stream with its own consumer group and prints one JSON line per
// record: {"id", "stream_id", "title", "entities"}. No FastStream needed: entries are plain
// fields (id, schema_version, record, published_at) - see ../../schemas/asyncapi.yaml.
//
//   REDIS_URL  redis:// or rediss:// URL          (default redis://localhost:6379)
//   STREAM     the published stream               (default dropwire:published)
//   GROUP      this consumer's group              (default node-consumer)
//   CONSUMER   name within the group              (default <host>-<pid>)
//   --once     exit once the backlog is drained instead of waiting for new entries
//
// Delivery is at-least-once: an entry is acked only after it was handled, and entries this
// consumer read but never acked (a crash) are read again first on the next start.
import os from 'node:os';
import process from 'node:process';
import { createClient } from 'redis';

const REDIS_URL = process.env.REDIS_URL || 'redis://localhost:6379';
const STREAM = process.env.STREAM || 'dropwire:published';
const GROUP = process.env.GROUP || 'node-consumer';
const CONSUMER = process.env.CONSUMER || `${os.hostname()}-${process.pid}`;
const ONCE = process.argv.slice(2).includes('--once');
const COUNT = 100;
const BLOCK_MS = 5000;
const SUPPORTED_MAJOR = '1'; // within a major version changes are additive: ignore unknown fields

let stopping = false;

/** The fields of an entry as a plain object, whatever reply shape the client returned. */
function fieldsOf(message) {
  return message instanceof Map ? Object.fromEntries(message) : message;
}

/** One output line for an entry, or null (with a reason on stderr) if it is not usable. */
function summarise(streamId, fields) {
  const version = String(fields.schema_version ?? '');
  if (version.split('.')[0] !== SUPPORTED_MAJOR) {
    console.error(`skipping ${streamId}: schema_version ${version || '?'} is not 1.x`);
    return null;
  }
  let record;
  try {
    record = JSON.parse(fields.record);
  } catch (err) {
    console.error(`skipping ${streamId}: record is not JSON (${err.message})`);
    return null;
  }
  const enrichment = record.enrichment ?? {};
  return {
    id: record.id ?? fields.id,
    stream_id: streamId,
    title: enrichment.title ?? record.metadata?.title ?? null,
    published_at: fields.published_at ?? null,
    entities: (enrichment.entities ?? []).map((e) => e.name),
  };
}

async function ensureGroup(client) {
  try {
    // From id 0, so entries written before the group existed are read too.
    await client.xGroupCreate(STREAM, GROUP, '0', { MKSTREAM: true });
  } catch (err) {
    if (!String(err.message).includes('BUSYGROUP')) throw err;
  }
}

/** Reads one batch: `0` re-reads this consumer's pending entries, `>` reads new ones. */
async function readBatch(client, id, block) {
  const options = { COUNT };
  if (block) options.BLOCK = BLOCK_MS;
  const reply = await client.xReadGroup(GROUP, CONSUMER, { key: STREAM, id }, options);
  return reply?.[0]?.messages ?? [];
}

async function handle(client, messages) {
  for (const { id, message } of messages) {
    if (message === null) continue; // deleted from the stream while pending
    const line = summarise(id, fieldsOf(message));
    if (line) process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  // Unusable entries are acked too: re-reading them would never succeed. A real consumer
  // might copy them somewhere for inspection first.
  if (messages.length) await client.xAck(STREAM, GROUP, messages.map((m) => m.id));
}

async function main() {
  const client = createClient({ url: REDIS_URL });
  client.on('error', (err) => console.error(`redis: ${err.message}`));
  await client.connect();
  try {
    await ensureGroup(client);
    for (;;) {
      // Our own unacked entries from a previous run, first.
      const pending = await readBatch(client, '0', false);
      if (!pending.length) break;
      await handle(client, pending);
    }
    while (!stopping) {
      const messages = await readBatch(client, '>', !ONCE);
      if (!messages.length && ONCE) break;
      await handle(client, messages);
    }
  } finally {
    await client.close();
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true; // finish the current batch (at most BLOCK_MS), then exit
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
