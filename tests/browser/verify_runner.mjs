// Runs the explorer's verifier (api/explorer/static/verify.js) on tasks read as JSON from
// stdin and prints its answers as JSON: tests/browser/test_verify_js.py compares them with
// Python's. Usage: node verify_runner.mjs PATH/TO/verify.js < tasks.json
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const verifier = await import(pathToFileURL(process.argv[2]).href);
const { sha256, encodeLeaf, leafHash, verifyInclusion, fromHex, toHex, verifyCertificate } = verifier;
const tasks = JSON.parse(readFileSync(0, "utf-8"));
const answers = {
  sha256: tasks.sha256.map((hex) => toHex(sha256(fromHex(hex)))),
  leaves: tasks.leaves.map(([position, id, version, topic, state]) => {
    try {
      const leaf = encodeLeaf(position, id, version, topic, fromHex(state));
      return [toHex(leaf), toHex(leafHash(leaf))];
    } catch (error) {
      return ["error", error.message];
    }
  }),
  inclusion: tasks.inclusion.map(([leaf, index, size, proof, root]) =>
    verifyInclusion(fromHex(leaf), index, size, proof.map(fromHex), fromHex(root))),
  abi: verifier.ABI,
  certificates: [],
};
for (const { certificate, trust } of tasks.certificates) {
  const result = await verifyCertificate(certificate, trust, null);
  answers.certificates.push({
    checks: result.checks.map((c) => [c.name, c.label, c.detail]),
    fields: result.fields.map((f) => [f.name, f.proven, Boolean(f.contradicted), f.source]),
    notes: result.notes,
    verdict: result.verdict,
  });
}
process.stdout.write(JSON.stringify(answers));
