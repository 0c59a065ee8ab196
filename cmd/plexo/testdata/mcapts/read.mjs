// Reads an MCAP file with the TypeScript MCAP reader, as Foxglove's tools do,
// and prints one JSON line per message in log-time order:
// {"topic", "logTime", "proto"} with the message decoded by protobufjs from
// the schema's FileDescriptorSet and encoded again (base64), or
// {"topic", "logTime", "json"} for json channels. The indexed reader and the
// streaming reader must agree on the number of messages.
//
// Usage: node read.mjs FILE.mcap
import { McapIndexedReader, McapStreamReader } from "@mcap/core";
import { FileHandleReadable } from "@mcap/nodejs";
import { loadDecompressHandlers } from "@mcap/support";
import { open, readFile } from "node:fs/promises";
import protobufjs from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";

const file = process.argv[2];
const decompressHandlers = await loadDecompressHandlers();
const fh = await open(file, "r");
const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(fh), decompressHandlers });
const types = new Map();
for (const [id, schema] of reader.schemasById) {
  if (schema.encoding !== "protobuf") throw new Error(`schema ${schema.name}: encoding ${schema.encoding}`);
  const root = protobufjs.Root.fromDescriptor(descriptor.FileDescriptorSet.decode(schema.data));
  types.set(id, root.lookupType(schema.name));
}
let indexed = 0;
const out = [];
for await (const m of reader.readMessages()) {
  const ch = reader.channelsById.get(m.channelId);
  const line = { topic: ch.topic, logTime: m.logTime.toString() };
  if (ch.messageEncoding === "protobuf") {
    const type = types.get(ch.schemaId);
    line.proto = Buffer.from(type.encode(type.decode(m.data)).finish()).toString("base64");
  } else if (ch.messageEncoding === "json") {
    line.json = JSON.stringify(JSON.parse(new TextDecoder().decode(m.data)));
  } else {
    throw new Error(`channel ${ch.topic}: message encoding ${ch.messageEncoding}`);
  }
  out.push(JSON.stringify(line));
  indexed++;
}
await fh.close();

const stream = new McapStreamReader({ decompressHandlers });
stream.append(await readFile(file));
let streamed = 0;
for (let rec; (rec = stream.nextRecord()); ) if (rec.type === "Message") streamed++;
if (!stream.done()) throw new Error("the streaming reader did not reach the end of the file");
if (streamed !== indexed) throw new Error(`the streaming reader read ${streamed} messages, the indexed one ${indexed}`);
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
