// Runs the Khronos glTF validator on every path given as an argument and prints one JSON array of reports.
// One node process validates many files, because starting node and the validator costs about half a second.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const validator = require("gltf-validator");

async function validateFile(file) {
  const data = await readFile(file);
  const externalResourceFunction = (uri) =>
    readFile(path.resolve(path.dirname(file), decodeURIComponent(uri))).then(
      (buf) => new Uint8Array(buf),
      (err) => Promise.reject(String(err)),
    );
  try {
    const report = await validator.validateBytes(new Uint8Array(data), {
      uri: path.basename(file),
      maxIssues: 200,
      externalResourceFunction,
    });
    return report;
  } catch (err) {
    // The validator rejects only when it cannot parse at all; report that as one error, not a crash.
    return { uri: file, issues: { numErrors: 1, numWarnings: 0, numInfos: 0, numHints: 0,
      messages: [{ code: "VALIDATOR_FAILED", message: String(err), severity: 0 }] } };
  }
}

const reports = [];
for (const file of process.argv.slice(2)) {
  reports.push(await validateFile(file));
}
process.stdout.write(JSON.stringify(reports));
