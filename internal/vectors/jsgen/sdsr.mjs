// Writes js_sdsr_vectors.json: SDS-R timing and response-group membership
// as @waku/sds computes them (its RepairManager), for the inputs of the
// Nim vectors' t_req, t_resp and response_group sections plus a few more.
//
//   mkdir /tmp/jssds && cd /tmp/jssds && npm install @waku/sds@0.0.8
//   node internal/vectors/jsgen/sdsr.mjs /tmp/jssds/node_modules \
//       internal/vectors/data/nim_sds_vectors.json > internal/vectors/data/js_sdsr_vectors.json
//
// Where the package throws (a zero range), the row holds the error
// instead of a value.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [modules, nimVectors] = process.argv.slice(2);
const pkg = join(modules, "@waku/sds");
const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
const { RepairManager } = await import(join(pkg, "dist/message_channel/repair/repair.js"));
const nim = JSON.parse(readFileSync(nimVectors, "utf8"));

function attempt(f) {
  try {
    return { value: f() };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

const extraIds = ["", "é", "日本語", "x".repeat(300), "a\u0000b"];
const reqInputs = nim.t_req.map((r) => [r.participantId, r.messageId, r.tMinMs, r.tMaxMs]);
for (const id of extraIds) reqInputs.push(["carol", id, 30000, 120000], [id, "m1", 0, 1]);
const respInputs = nim.t_resp.map((r) => [r.participantId, r.senderId, r.messageId, r.tMaxMs]);
for (const id of extraIds) respInputs.push(["carol", "dave", id, 120000], [id, "bob", "m1", 300000]);
const groupInputs = nim.response_group.map((r) => [r.participantId, r.senderId, r.messageId, r.numGroups]);
for (const id of extraIds) groupInputs.push(["carol", id, "m1", 3], ["carol", "dave", id, 5]);

const out = {
  note: `@waku/sds ${version} (RepairManager, node ${process.version}): offsets in ms from now=0; ` +
    "inputs of nim_sds_vectors.json's sections plus non-ASCII, empty and long ids",
  t_req: reqInputs.map(([participantId, messageId, tMinMs, tMaxMs]) => {
    const r = attempt(() => new RepairManager(participantId, { tMin: tMinMs, tMax: tMaxMs }).calculateTReq(messageId, 0));
    return { participantId, messageId, tMinMs, tMaxMs, ...(r.error ? { error: r.error } : { tReqMs: r.value }) };
  }),
  t_resp: respInputs.map(([participantId, senderId, messageId, tMaxMs]) => {
    const r = attempt(() => new RepairManager(participantId, { tMax: tMaxMs }).calculateTResp(senderId, messageId, 0));
    return { participantId, senderId, messageId, tMaxMs, ...(r.error ? { error: r.error } : { tRespMs: r.value }) };
  }),
  response_group: groupInputs.map(([participantId, senderId, messageId, numGroups]) => ({
    participantId, senderId, messageId, numGroups,
    inGroup: new RepairManager(participantId, { numResponseGroups: numGroups }).isInResponseGroup(senderId, messageId),
  })),
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
