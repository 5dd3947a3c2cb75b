// Runs the Khronos glTF validator on every path given as an argument (or, with no arguments, in a JSON array on
// stdin) and prints one JSON array of reports, in the same order.
// One node process validates many files, because starting node and the validator costs about half a second.
// The validator cannot see inside EXT_meshopt_compression, so this script also decodes every compressed
// bufferView with three.js's MeshoptDecoder (what the viewer runs) and checks POSITION min/max and index
// ranges on the decoded data; failures are added to the report as errors. Likewise every
// KHR_draco_mesh_compression primitive is decoded with Google's decoder (draco3dgltf, which the pinned
// @gltf-transform/cli brings along), and its point and index counts are checked against the accessors.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";

const require = createRequire(import.meta.url);
const validator = require("gltf-validator");

const COMPONENT = { 5120: Int8Array, 5121: Uint8Array, 5122: Int16Array, 5123: Uint16Array, 5125: Uint32Array, 5126: Float32Array };
const SIZE = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 };

function parseContainer(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength >= 20 && view.getUint32(0, true) === 0x46546c67) {
    const jsonLength = view.getUint32(12, true);
    const json = JSON.parse(new TextDecoder().decode(data.subarray(20, 20 + jsonLength)));
    let bin = null;
    const binStart = 20 + jsonLength;
    if (binStart + 8 <= data.byteLength) {
      const binLength = view.getUint32(binStart, true);
      bin = data.subarray(binStart + 8, binStart + 8 + binLength);
    }
    return { json, bin };
  }
  return { json: JSON.parse(new TextDecoder().decode(data)), bin: null };
}

async function checkMeshopt(file, data) {
  const problems = [];
  let container;
  try {
    container = parseContainer(data);
  } catch {
    return problems; // the validator already reports unparsable files
  }
  const { json, bin } = container;
  const views = json.bufferViews || [];
  if (!views.some((v) => v.extensions && v.extensions.EXT_meshopt_compression)) return problems;
  await MeshoptDecoder.ready;
  const buffers = [];
  for (const [i, buffer] of (json.buffers || []).entries()) {
    if (buffer.uri) buffers[i] = new Uint8Array(await readFile(path.resolve(path.dirname(file), decodeURIComponent(buffer.uri))));
    else if (i === 0) buffers[i] = bin;
  }
  const decoded = new Map();
  for (const [i, v] of views.entries()) {
    const ext = v.extensions && v.extensions.EXT_meshopt_compression;
    if (!ext) continue;
    try {
      const source = buffers[ext.buffer].subarray(ext.byteOffset || 0, (ext.byteOffset || 0) + ext.byteLength);
      const target = new Uint8Array(ext.count * ext.byteStride);
      MeshoptDecoder.decodeGltfBuffer(target, ext.count, ext.byteStride, source, ext.mode, ext.filter);
      if (target.byteLength > v.byteLength) throw new Error(`decodes to ${target.byteLength} bytes, the view holds ${v.byteLength}`);
      decoded.set(i, { bytes: target, stride: ext.byteStride });
    } catch (err) {
      problems.push({ code: "MESHOPT_DECODE_FAILED", message: String(err), severity: 0, pointer: `/bufferViews/${i}` });
    }
  }
  const GETTER = { 5120: "getInt8", 5121: "getUint8", 5122: "getInt16", 5123: "getUint16", 5125: "getUint32", 5126: "getFloat32" };
  // Per-component [min, max] of an accessor whose bufferView was meshopt-compressed, or null.
  const accessorRange = (index) => {
    const a = json.accessors[index];
    const d = decoded.get(a.bufferView);
    if (!d) return null;
    const n = SIZE[a.type];
    const size = COMPONENT[a.componentType].BYTES_PER_ELEMENT;
    const get = GETTER[a.componentType];
    const dv = new DataView(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength);
    const lo = new Array(n).fill(Infinity), hi = new Array(n).fill(-Infinity);
    for (let e = 0; e < a.count; e++) {
      for (let c = 0; c < n; c++) {
        const v = dv[get]((a.byteOffset || 0) + e * d.stride + c * size, true);
        if (v < lo[c]) lo[c] = v;
        if (v > hi[c]) hi[c] = v;
      }
    }
    return { lo, hi };
  };
  for (const [m, mesh] of (json.meshes || []).entries()) {
    for (const [p, prim] of mesh.primitives.entries()) {
      const where = `/meshes/${m}/primitives/${p}`;
      const posIndex = prim.attributes.POSITION;
      const pos = json.accessors[posIndex];
      const range = accessorRange(posIndex);
      if (range && pos.min && pos.max) {
        for (let c = 0; c < pos.min.length; c++) {
          const lo = range.lo[c], hi = range.hi[c];
          if (Math.abs(lo - pos.min[c]) > 1e-6 * Math.max(1, Math.abs(lo)) || Math.abs(hi - pos.max[c]) > 1e-6 * Math.max(1, Math.abs(hi))) {
            problems.push({ code: "MESHOPT_POSITION_BOUNDS", severity: 0, pointer: `${where}/attributes/POSITION`,
              message: `decoded POSITION component ${c} spans [${lo}, ${hi}] but min/max say [${pos.min[c]}, ${pos.max[c]}]` });
          }
        }
      }
      if (prim.indices !== undefined) {
        const indices = accessorRange(prim.indices);
        if (indices) {
          const top = indices.hi[0];
          if (top >= pos.count) problems.push({ code: "MESHOPT_INDEX_RANGE", severity: 0, pointer: `${where}/indices`,
            message: `decoded index ${top} is out of range for ${pos.count} vertices` });
        }
      }
    }
  }
  return problems;
}

let dracoModule = null;
async function dracoDecoder() {
  if (dracoModule === null) {
    try {
      const draco3d = (await import("draco3dgltf")).default;
      dracoModule = await draco3d.createDecoderModule();
    } catch {
      dracoModule = false; // not installed: the validator's own checks still run
    }
  }
  return dracoModule;
}

async function checkDraco(file, data) {
  const problems = [];
  let container;
  try {
    container = parseContainer(data);
  } catch {
    return problems;
  }
  const { json, bin } = container;
  const primitives = (json.meshes || []).flatMap((mesh, m) => mesh.primitives.map((prim, p) => ({ prim, where: `/meshes/${m}/primitives/${p}` })))
    .filter(({ prim }) => prim.extensions && prim.extensions.KHR_draco_mesh_compression);
  if (!primitives.length) return problems;
  const draco = await dracoDecoder();
  if (!draco) return problems;
  for (const { prim, where } of primitives) {
    const ext = prim.extensions.KHR_draco_mesh_compression;
    const view = json.bufferViews[ext.bufferView];
    if (view.buffer !== 0 || !bin) continue;
    const bytes = bin.subarray(view.byteOffset || 0, (view.byteOffset || 0) + view.byteLength);
    const decoder = new draco.Decoder();
    const buffer = new draco.DecoderBuffer();
    buffer.Init(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength);
    const mesh = new draco.Mesh();
    const status = decoder.DecodeBufferToMesh(buffer, mesh);
    const fail = (code, message) => problems.push({ code, message, severity: 0, pointer: `${where}/extensions/KHR_draco_mesh_compression` });
    if (!status.ok()) {
      fail("DRACO_DECODE_FAILED", status.error_msg());
    } else {
      const points = mesh.num_points();
      for (const [name, id] of Object.entries(ext.attributes)) {
        const attribute = decoder.GetAttributeByUniqueId(mesh, id);
        if (!attribute || attribute.ptr === 0) fail("DRACO_ATTRIBUTE_MISSING", `no attribute with unique id ${id} for ${name}`);
        const count = json.accessors[prim.attributes[name]].count;
        if (count !== points) fail("DRACO_COUNT_MISMATCH", `${name} accessor count ${count}, Draco decodes ${points} points`);
      }
      if (prim.indices !== undefined && json.accessors[prim.indices].count !== mesh.num_faces() * 3) {
        fail("DRACO_COUNT_MISMATCH", `indices accessor count ${json.accessors[prim.indices].count}, Draco decodes ${mesh.num_faces()} triangles`);
      }
    }
    draco.destroy(mesh);
    draco.destroy(buffer);
    draco.destroy(decoder);
  }
  return problems;
}

function failure(file, code, message) {
  return { uri: file, issues: { numErrors: 1, numWarnings: 0, numInfos: 0, numHints: 0,
    messages: [{ code, message, severity: 0 }] } };
}

async function validateFile(file) {
  let data;
  try {
    data = new Uint8Array(await readFile(file));
  } catch (err) {
    return failure(file, "FILE_UNREADABLE", String(err));
  }
  const externalResourceFunction = (uri) =>
    readFile(path.resolve(path.dirname(file), decodeURIComponent(uri))).then(
      (buf) => new Uint8Array(buf),
      (err) => Promise.reject(String(err)),
    );
  let report;
  try {
    report = await validator.validateBytes(data, { uri: path.basename(file), maxIssues: 200, externalResourceFunction });
  } catch (err) {
    // The validator rejects only when it cannot parse at all; report that as one error, not a crash.
    return failure(file, "VALIDATOR_FAILED", String(err));
  }
  const extra = [...(await checkMeshopt(file, data)), ...(await checkDraco(file, data))];
  report.issues.numErrors += extra.length;
  report.issues.messages.push(...extra);
  return report;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf-8"));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : await readStdin();
const reports = [];
for (const file of files) {
  reports.push(await validateFile(file));
}
process.stdout.write(JSON.stringify(reports));
