// The certificate verifier of the explorer: every check `carbon-ledger verify` runs
// (anchoring/certificate.py), in plain JavaScript, in the reader's browser.
//
// An ES module with no dependencies and no build step: the certificate page imports it, and
// node imports it too (tests/browser/test_verify_js.py cross-checks it against Python on the
// same vectors and on real certificates). SHA-256 (and SHA-1, for the UUIDv5 of holdings) is
// implemented here rather than taken from WebCrypto: `crypto.subtle` exists only in secure
// contexts (https, or http://localhost), and an explorer served over plain http on another
// host must verify all the same.
//
// What is trusted comes from the caller, never from the certificate: `trust` (chain id,
// registry, anchorer accounts, confirmations; the page defaults to the serving ledger's
// GET /trust-anchors, editable) and `rpc` (a JSON-RPC endpoint; the page defaults to the
// serving ledger's read-only proxy POST /explorer/chain/rpc, editable). See docs/ANCHORING.md,
// "The browser verifier".

// ------------------------------------------------------------------------------ SHA-256

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 of `data` (a Uint8Array), as a Uint8Array of 32 bytes (FIPS 180-4). */
export function sha256(data) {
  const bitLength = data.length * 8;
  const padded = new Uint8Array(((data.length + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]
                  + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c)))
                 >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(4 * i, h[i]);
  return out;
}

// ------------------------------------------------------------------------------ SHA-1 and UUIDv5

/** SHA-1 of `data` (a Uint8Array), as a Uint8Array of 20 bytes (FIPS 180-4). Only for UUIDv5
 * (RFC 9562), which is defined on it: never as a security hash. */
export function sha1(data) {
  const bitLength = data.length * 8;
  const padded = new Uint8Array(((data.length + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  const w = new Uint32Array(80);
  const rotl = (x, n) => (x << n) | (x >>> (32 - n));
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + 4 * i);
    for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    let [a, b, c, d, e] = h;
    for (let i = 0; i < 80; i++) {
      const [f, k] = i < 20 ? [(b & c) | (~b & d), 0x5a827999]
        : i < 40 ? [b ^ c ^ d, 0x6ed9eba1]
          : i < 60 ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc]
            : [b ^ c ^ d, 0xca62c1d6];
      const t = (rotl(a, 5) + f + e + k + w[i]) >>> 0;
      e = d; d = c; c = rotl(b, 30) >>> 0; b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  const out = new Uint8Array(20);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 5; i++) outView.setUint32(4 * i, h[i]);
  return out;
}

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/;

/** RFC 9562 UUIDv5 (name-based, SHA-1) of `name` (a string, hashed as UTF-8) in `namespace` (a
 * UUID string), as Python's str(uuid.uuid5(namespace, name)): lower case, with dashes. Throws
 * on a namespace that is not a UUID and, as Python, on a name with a lone surrogate (no
 * UTF-8). */
export function uuid5(namespace, name) {
  const ns = String(namespace).toLowerCase();
  if (!UUID_PATTERN.test(ns)) throw new Error(`namespace ${namespace} is not a UUID`);
  if (typeof name !== "string" || /\p{Surrogate}/u.test(name)) {
    throw new Error(`name ${JSON.stringify(name)} is not a string of Unicode characters`);
  }
  const bytes = sha1(concat(fromHex(ns.replaceAll("-", "")), new TextEncoder().encode(name)))
    .slice(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10 (RFC 9562)
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-` +
         hex.slice(20);
}

/** "9a4e2c71-3b8d-5f06-a1e9-6d2b7c0f4e35": the namespace of holdings' ids (NS_HOLDING of
 * ledger/domain/holding.py). */
export const NS_HOLDING = "9a4e2c71-3b8d-5f06-a1e9-6d2b7c0f4e35";

/** The id of `holder`'s holding of batch `batchId` (ledger.domain.holding.holding_id). */
export function holdingId(batchId, holder) {
  return uuid5(NS_HOLDING, `${batchId}/${holder}`);
}

// ------------------------------------------------------------------------------ bytes

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string (an optional 0x prefix); throws on anything else. */
export function fromHex(text) {
  const hex = String(text).replace(/^0x/i, "");
  if (hex.length % 2 || /[^0-9a-f]/i.test(hex)) throw new Error(`not hex: ${text}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes of strict base64 (as Python's b64decode(validate=True)); throws otherwise. */
export function fromBase64(text) {
  if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("state_base64 is not valid base64");
  }
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) { out.set(part, offset); offset += part.length; }
  return out;
}

function uint(value, width) {
  const n = BigInt(value);
  if (n < 0n || n >= 1n << BigInt(8 * width)) throw new Error(`${value} does not fit ${width} bytes`);
  const out = new Uint8Array(width);
  let rest = n;
  for (let i = width - 1; i >= 0; i--) { out[i] = Number(rest & 0xffn); rest >>= 8n; }
  return out;
}

function wholeNumber(value, what) {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return Number(value);
  throw new Error(`${what} must be a whole number, got ${JSON.stringify(value)}`);
}

// ------------------------------------------------------------------------------ leaves and proofs

/** "carbon-ledger/event-leaf/v1\n" (anchoring/leaf.py). */
export const LEAF_TAG = new TextEncoder().encode("carbon-ledger/event-leaf/v1\n");

/** The canonical leaf bytes of a stored event (anchoring/leaf.py, format v1). */
export function encodeLeaf(position, originatorId, originatorVersion, topic, state) {
  const id = String(originatorId).toLowerCase();
  if (!UUID_PATTERN.test(id)) {
    throw new Error(`originator_id ${originatorId} is not a UUID`);
  }
  if (typeof topic !== "string") throw new Error("topic must be a string");
  const topicBytes = new TextEncoder().encode(topic);
  return concat(LEAF_TAG, uint(position, 8), fromHex(id.replaceAll("-", "")),
                uint(originatorVersion, 8), uint(topicBytes.length, 4), topicBytes,
                uint(state.length, 4), state);
}

/** RFC 9162 leaf hash: SHA-256(0x00 || leaf). */
export function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** RFC 9162 section 2.1.3.2: whether `proof` (hashes) proves `hash` is leaf `index` of the tree
 * of `treeSize` leaves with root `root`. Never throws: malformed input is `false`. */
export function verifyInclusion(hash, index, treeSize, proof, root) {
  try {
    if (hash.length !== 32 || root.length !== 32 || !proof.every((p) => p.length === 32)) {
      return false;
    }
    let fn = BigInt(index);
    let sn = BigInt(treeSize) - 1n;
    if (fn < 0n || fn > sn) return false;
    let r = hash;
    const node = Uint8Array.of(1);
    for (const p of proof) {
      if (sn === 0n) return false;
      if (fn & 1n || fn === sn) {
        r = sha256(concat(node, p, r));
        if (!(fn & 1n)) {
          while (fn && !(fn & 1n)) { fn >>= 1n; sn >>= 1n; }
        }
      } else {
        r = sha256(concat(node, r, p));
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equalBytes(r, root);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------ checks

export const CERTIFICATE_FORMATS = ["carbon-ledger/certificate/v1", "carbon-ledger/certificate/v2"];
const ISSUANCE_TOPICS = ["ledger.domain.credit_batch:CreditBatch.Issued",
                         "ledger.domain.credit_batch:CreditBatch.Imported"];
const CORRECTED_TOPIC = "ledger.domain.credit_batch:CreditBatch.Corrected";
const PLEDGED_TOPIC = "ledger.domain.credit_batch:CreditBatch.Pledged";
const HOLDING_PLEDGED_TOPIC = "ledger.domain.holding:Holding.Pledged";
const PLEDGE_CLOSED_TOPICS = new Map([
  ["ledger.domain.credit_batch:CreditBatch.PledgeReleased", "released"],
  ["ledger.domain.credit_batch:CreditBatch.PledgeEnforced", "enforced"],
  ["ledger.domain.holding:Holding.PledgeReleased", "released"],
  ["ledger.domain.holding:Holding.PledgeEnforced", "enforced"],
]);
const HOLDING_RETIRED_TOPIC = "ledger.domain.holding:Holding.Retired";
const HOLDING_SETTLED_TOPIC = "ledger.domain.holding:Holding.TradeSettled";
const RETIRED_TOPICS = ["ledger.domain.credit_batch:CreditBatch.Retired",
                        "ledger.domain.credit_batch:CreditBatch.TradeSettled",
                        "ledger.domain.credit_batch:CreditBatch.TokensRetired",
                        HOLDING_RETIRED_TOPIC, HOLDING_SETTLED_TOPIC];
// The field of a holding's retirement event naming the holding's account.
const HOLDER_OF = new Map([[HOLDING_RETIRED_TOPIC, "holder"], [HOLDING_SETTLED_TOPIC, "seller"]]);
const RETIREMENT_TERMS = ["beneficiary", "purpose", "jurisdiction", "consumption_period"];
const TIMES = new Set(["retired_at", "pledged_at", "occurred_at"]);
const SINGLE_ROLES = new Set(["issuance", "retirement", "pledge", "pledge_closed", "behaviour"]);

/** One check, as anchoring.certificate.Check: `undecided` is neither a pass nor a failure. */
function check(name, ok, detail, undecided = false) {
  return { name, ok: Boolean(ok), detail, undecided,
           label: undecided ? "NOT CHECKED" : ok ? "PASS" : "FAIL" };
}

function eventData(event) {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(fromBase64(event.state_base64));
  const data = JSON.parse(text);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new Error(`event ${event.position} does not hold a JSON object`);
  }
  return data;
}

/** An instant as {seconds, micro}: the event store's {"_type_": "datetime_iso", ...} or ISO 8601
 * with a zone ("...Z" or "+00:00"), to the microsecond as Python compares them. */
function instant(value) {
  if (value && typeof value === "object" && value._type_ === "datetime_iso") value = value._data_;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})$/
    .exec(String(value));
  if (!m) throw new Error(`${JSON.stringify(value)} is not an instant with a time zone`);
  const [, day, hh, mm, ss = "00", fraction = "", zone] = m;
  const base = Date.parse(`${day}T${hh}:${mm}:${ss}Z`);
  if (Number.isNaN(base)) throw new Error(`${value} is not a date`);
  let offset = 0;
  if (zone !== "Z") {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    offset = (z[1] === "-" ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60;
  }
  return { seconds: base / 1000 - offset, micro: Number(fraction.padEnd(6, "0")) };
}

/** JSON with sorted keys: the canonical form Python's same_claim compares. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

/** anchoring.certificate.same_claim: instants as instants, everything else as canonical JSON. */
export function sameClaim(name, claimed, proven) {
  if (TIMES.has(name)) {
    try {
      const a = instant(claimed);
      const b = instant(proven);
      return a.seconds === b.seconds && a.micro === b.micro;
    } catch {
      return false;
    }
  }
  return canonical(claimed) === canonical(proven);
}

const source = (event) => `${event.role} event ${event.position}`;
const byRole = (cert, role) => cert.events.find((e) => e.role === role) ?? null;
const py = (value) => (typeof value === "string" ? `'${value}'` : JSON.stringify(value ?? null));

class Facts {
  constructor() { this.values = new Map(); this.caveats = new Map(); this.notes = []; }
  bind(name, value, from, caveat = "") {
    this.values.set(name, [value === undefined ? null : value, from]);
    if (caveat) this.caveats.set(name, caveat);
  }
}

function checkEvents(cert, checks) {
  const root = fromHex(cert.anchor.root);
  const treeSize = wholeNumber(cert.anchor.tree_size, "tree_size");
  const seen = new Set();
  for (const event of cert.events) {
    const label = `${event.role} event (position ${event.position})`;
    if (SINGLE_ROLES.has(event.role)) {
      if (seen.has(event.role)) {
        checks.push(check(`${label}: role`, false, `more than one ${event.role} event`));
      }
      seen.add(event.role);
    }
    let hashed;
    try {
      hashed = leafHash(encodeLeaf(wholeNumber(event.position, "position"), event.originator_id,
                                   wholeNumber(event.originator_version, "originator_version"),
                                   event.topic, fromBase64(event.state_base64)));
    } catch (error) {
      checks.push(check(`${label}: leaf`, false, `cannot encode the event: ${error.message}`));
      continue;
    }
    checks.push(check(`${label}: leaf`, toHex(hashed) === event.leaf_hash,
                      "leaf hash recomputed from the stored event bytes"));
    const proof = event.inclusion_proof.map(fromHex);
    const included = verifyInclusion(hashed, wholeNumber(event.leaf_index, "leaf_index"),
                                     treeSize, proof, root);
    checks.push(check(`${label}: inclusion`, included,
                      `leaf ${event.leaf_index} of the anchored tree of ${treeSize} events ` +
                      `(RFC 9162 proof, ${proof.length} hashes)`));
  }
}

function withinBlock(ranges, issued) {
  const start = Number(issued.serial_start);
  const end = start + Number(issued.quantity);
  return Array.isArray(ranges) && ranges.every((r) => Array.isArray(r) && r.length === 2
    && start <= Number(r[0]) && Number(r[0]) < Number(r[1]) && Number(r[1]) <= end);
}

function bindIssuance(cert, issuance, facts, checks) {
  const issued = eventData(issuance);
  checks.push(check("content: issuance", ISSUANCE_TOPICS.includes(issuance.topic)
                    && Number(issuance.originator_version) === 1,
                    `batch ${issued.block} was issued (event ${issuance.topic})`));
  const from = source(issuance);
  facts.bind("batch_id", issuance.originator_id, from);
  for (const [name, key] of [["block", "block"], ["registry", "registry"], ["vintage", "vintage"],
                             ["methodology", "methodology_label"], ["region", "region"]]) {
    facts.bind(name, issued[key], from);
  }
  const corrections = cert.events.filter((e) => e.role === "correction")
    .sort((a, b) => Number(a.position) - Number(b.position));
  for (const event of corrections) {
    const data = eventData(event);
    const ok = event.topic === CORRECTED_TOPIC && event.originator_id === issuance.originator_id
      && Number(event.position) > Number(issuance.position);
    checks.push(check(`content: correction (position ${event.position})`, ok,
                      `batch ${issued.block}: ${data.field} corrected to ${py(data.value)}`));
    if (ok && (data.field === "vintage" || data.field === "region")) {
      const [, earlier] = facts.values.get(data.field);
      facts.bind(data.field, data.value, `${earlier}, corrected by ${source(event)}`);
    }
  }
  return issued;
}

/** anchoring.certificate._retired_from: whether the retirement event is of the issued batch, an
 * event of the batch itself or (Holding.Retired, Holding.TradeSettled) of the holding of that
 * batch and the retiring holder or the seller, whose id is derived from the two (holdingId). */
function retiredFrom(retirement, retired, issuance) {
  const batch = issuance.originator_id;
  const account = HOLDER_OF.get(retirement.topic);
  if (account === undefined) return retirement.originator_id === batch;
  const holder = retired[account];
  return retired.batch === batch && typeof holder === "string"
    && retirement.originator_id === holdingId(batch, holder);
}

function checkRetirement(cert, facts, checks) {
  const issuance = byRole(cert, "issuance");
  const retirement = byRole(cert, "retirement");
  if (!issuance || !retirement) {
    checks.push(check("content", false, "the issuance or retirement event is missing"));
    return;
  }
  const issued = bindIssuance(cert, issuance, facts, checks);
  if (!cert.events.some((e) => e.role === "correction")) {
    facts.notes.push("vintage and region are as issued: no correction of the batch is " +
                     "included, and a correction left out cannot be detected");
  }
  const retired = eventData(retirement);
  const topic = retirement.topic;
  const name = topic.split(".").pop();
  const details = ["Retired", "TokensRetired"].includes(name) ? retired.details : retired.retirement;
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  checks.push(check("content: retirement", RETIRED_TOPICS.includes(topic)
                    && retiredFrom(retirement, retired, issuance)
                    && typeof retired.retirement_id === "string" && isObject(details),
                    `a retirement of batch ${issued.block} (event ${name})`));
  if (!isObject(details)) return;
  const from = source(retirement);
  facts.bind("retirement_id", retired.retirement_id, from);
  facts.bind("holder", retired[name === "TradeSettled" ? "buyer" : "holder"], from);
  facts.bind("quantity_g", retired.quantity, from);
  facts.bind("serial_ranges", retired.ranges, from);
  for (const term of RETIREMENT_TERMS) facts.bind(term, details[term], from);
  facts.bind("details", Object.fromEntries(Object.entries(details)
    .filter(([k]) => !RETIREMENT_TERMS.includes(k))), from);
  facts.bind("retired_at", retired.timestamp, from);
  facts.bind("trade_ref", name === "TradeSettled" ? retired.trade_ref : null, from);
  const claimedDetails = cert.record.details;
  const claimedChain = isObject(claimedDetails) ? claimedDetails.chain ?? null : null;
  if (name === "TokensRetired" || claimedChain !== null) {
    const burned = { transaction: retired.chain_reference ?? null, burn_id: retired.burn_id ?? null,
                     account: retired.chain_account ?? null };
    checks.push(check("content: chain burn", name === "TokensRetired"
                      && sameClaim("chain", claimedChain, burned),
                      `retired by burning tokens of ${retired.chain_account} in transaction ` +
                      `${retired.chain_reference}`));
  }
  checks.push(check("content: serials", withinBlock(retired.ranges, issued),
                    "retired serials lie in the issued block"));
}

/** The name of the aggregate class in an event's topic (CreditBatch, Holding). */
function aggregateClass(event) {
  const topic = String(event.topic);
  return topic.slice(topic.lastIndexOf(":") + 1).split(".")[0];
}

/** Whether the pledge event is of the issued batch: an event of the batch itself, or
 * (Holding.Pledged, issue #17) of the holding of that batch and the pledgor. */
function pledgedFrom(pledge, pledged, issuance) {
  const batch = issuance.originator_id;
  if (pledge.topic === PLEDGED_TOPIC) return pledge.originator_id === batch;
  const holder = pledged.holder;
  return pledge.topic === HOLDING_PLEDGED_TOPIC && pledged.batch === batch
    && typeof holder === "string" && pledge.originator_id === holdingId(batch, holder);
}

function checkPledge(cert, facts, checks) {
  const issuance = byRole(cert, "issuance");
  const pledge = byRole(cert, "pledge");
  if (!issuance || !pledge) {
    checks.push(check("content", false, "the issuance or pledge event is missing"));
    return;
  }
  const issued = bindIssuance(cert, issuance, facts, checks);
  const pledged = eventData(pledge);
  checks.push(check("content: pledge", pledgedFrom(pledge, pledged, issuance),
                    `a pledge of batch ${issued.block} (event ${pledge.topic.split(".").pop()})`));
  const from = source(pledge);
  for (const [name, key] of [["pledge_id", "pledge_id"], ["holder", "holder"], ["bank", "bank"],
                             ["loan_reference", "loan_reference"], ["quantity_g", "quantity"],
                             ["serial_ranges", "ranges"], ["pledged_at", "timestamp"]]) {
    facts.bind(name, pledged[key], from);
  }
  const treeSize = Number(cert.anchor.tree_size);
  const closed = byRole(cert, "pledge_closed");
  if (!closed) {
    facts.bind("status", "active", `${from}; no release or enforcement included`,
               `active when pledged (event ${pledge.position}); a later release or ` +
               "enforcement is not excluded, see the note");
    facts.notes.push(
      `pledge status: active when pledged (event ${pledge.position}) and no release or ` +
      "enforcement is included in this certificate. A certificate cannot prove the absence " +
      "of an event: the pledge may have been released or enforced after it, or before the " +
      `checkpoint of ${treeSize} events and left out. Ask the register, or for a newer ` +
      "certificate, to learn its status now.");
  } else {
    const data = eventData(closed);
    const status = PLEDGE_CLOSED_TOPICS.get(closed.topic) ?? null;
    // closed where it was made: on the batch, or on the pledgor's holding
    checks.push(check("content: pledge closed", status !== null
                      && aggregateClass(closed) === aggregateClass(pledge)
                      && closed.originator_id === pledge.originator_id
                      && data.pledge_id === pledged.pledge_id
                      && Number(closed.position) > Number(pledge.position),
                      `pledge ${status ?? "closed"} by event ${closed.position}`));
    facts.bind("status", status, source(closed));
    facts.notes.push(`pledge status: ${status ?? "unknown"} by event ${closed.position}, ` +
                     "final (a released or enforced pledge cannot change again)");
  }
  checks.push(check("content: serials", withinBlock(pledged.ranges, issued),
                    "pledged serials lie in the issued block"));
}

function checkRecord(cert, facts, checks) {
  const fields = [];
  let mismatches = 0;
  for (const [name, original] of Object.entries(cert.record)) {
    let claimed = original;
    if (!facts.values.has(name)) {
      fields.push({ name, value: original, proven: false, source: "no proven event states it" });
      continue;
    }
    const [value, from] = facts.values.get(name);
    if (cert.format === CERTIFICATE_FORMATS[0] && (name === "vintage" || name === "region")
        && !sameClaim(name, claimed, value)) {
      fields.push({ name, value: original, proven: false,
                    source: `the ${from} says ${py(value)}; v1 certificates do not carry the ` +
                            "batch's corrections" });
      continue;
    }
    if (name === "details" && claimed && typeof claimed === "object" && !Array.isArray(claimed)) {
      claimed = Object.fromEntries(Object.entries(claimed).filter(([k]) => k !== "chain"));
    }
    if (sameClaim(name, claimed, value)) {
      fields.push({ name, value: original, proven: true, source: from,
                    caveat: facts.caveats.get(name) ?? "" });
    } else {
      mismatches += 1;
      checks.push(check(`record: ${name}`, false,
                        `the certificate says ${py(claimed)}, the ${from} says ${py(value)}`));
      fields.push({ name, value: original, proven: false, source: `contradicted by the ${from}`,
                    contradicted: true });
    }
  }
  if (!mismatches) {
    const proven = fields.filter((f) => f.proven).map((f) => f.name);
    const unproven = fields.filter((f) => !f.proven).map((f) => f.name);
    checks.push(check("record", proven.length > 0,
                      `${proven.length} fields match the proven events` +
                      (unproven.length ? `; unverified: ${unproven.join(", ")}` : "")));
  }
  return fields;
}

/** Every offline check of a certificate (format, leaves, proofs, content, record), with no
 * chain: what `verify` does before it reads the chain. Synchronous. */
export function verifyOffline(cert) {
  const checks = [];
  let fields = [];
  const facts = new Facts();
  if (!cert || typeof cert !== "object" || !CERTIFICATE_FORMATS.includes(cert.format)) {
    checks.push(check("format", false, `not a ${CERTIFICATE_FORMATS.join(" or ")} document`));
    return { checks, fields, notes: [], fatal: true };
  }
  checks.push(check("format", true, String(cert.format)));
  try {
    if (!cert.record || typeof cert.record !== "object" || Array.isArray(cert.record)
        || !Array.isArray(cert.events)) {
      throw new Error("record must be an object and events a list");
    }
    checkEvents(cert, checks);
    if (cert.kind === "retirement") checkRetirement(cert, facts, checks);
    else if (cert.kind === "pledge") checkPledge(cert, facts, checks);
    else if (cert.kind === "behaviour") {
      checks.push(check("content: behaviour", false, "behaviour certificates are verified by " +
                        "`carbon-ledger verify`, not in the browser", true));
    } else checks.push(check("kind", false, `unknown certificate kind ${py(cert.kind)}`));
    fields = checkRecord(cert, facts, checks);
  } catch (error) {
    checks.push(check("structure", false, `malformed certificate: ${error.message}`));
    return { checks, fields, notes: facts.notes, fatal: true };
  }
  return { checks, fields, notes: facts.notes, fatal: false };
}

// ------------------------------------------------------------------------------ chain

/** keccak256 selectors and topic of contracts/AnchorRegistry.sol (pinned by a test against
 * web3's keccak, so they cannot drift from the ABI). */
export const ABI = {
  checkpoint: "0xed64bab2", // checkpoint(uint256)
  rootOf: "0x9d7384d9", // rootOf(uint64)
  checkpointAnchored: "0xec0ddbcd30e6380d886a3a2df4ca0a63ac5549b994f09459d7973a063ccdaea5", // CheckpointAnchored(uint256,uint64,bytes32,uint64)
};

/** The chain could not be read at all (network error, no endpoint): not a failure. */
export class ChainUnavailable extends Error {}
/** The endpoint answered with a JSON-RPC error (a revert of eth_call among them). */
export class RpcError extends Error {}

/** A JSON-RPC client over fetch. */
export function jsonRpc(url, fetcher = globalThis.fetch) {
  let id = 0;
  return async (method, params) => {
    let response;
    try {
      response = await fetcher(url, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      });
    } catch (error) {
      throw new ChainUnavailable(`${url} is not reachable (${error.message})`);
    }
    if (!response.ok) throw new ChainUnavailable(`${url} answered HTTP ${response.status}`);
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ChainUnavailable(`${url} did not answer JSON-RPC`);
    }
    if (body.error) throw new RpcError(`${method}: ${body.error.message ?? "error"}`);
    return body.result;
  };
}

const word = (n) => BigInt(n).toString(16).padStart(64, "0");
const quantity = (hex) => Number(BigInt(hex));
const sameAddress = (a, b) => typeof a === "string" && typeof b === "string"
  && a.toLowerCase() === b.toLowerCase();

async function viewCall(rpc, to, data) {
  try {
    return await rpc("eth_call", [{ to, data }, "latest"]);
  } catch (error) {
    if (error instanceof RpcError) return null; // reverted: unknown checkpoint or tree size
    throw error;
  }
}

/** anchoring.certificate._check_chain, over JSON-RPC: `trust` is {chain_id, registry,
 * anchorers, confirmations} chosen by the verifier; `rpc` a jsonRpc() client or null. */
export async function checkChain(cert, trust, rpc) {
  const checks = [];
  const anchor = cert.anchor;
  if (!trust) {
    checks.push(check("trust anchors", false, "none given (the registry, chain and anchorer " +
                      "the verifier trusts): the certificate's own registry address is a " +
                      "claim, not where to verify", true));
    return checks;
  }
  const treeSize = Number(anchor.tree_size);
  const root = String(anchor.root).toLowerCase();
  const index = Number(anchor.checkpoint_index);
  const block = Number(anchor.block_number);
  checks.push(check("anchor: registry", sameAddress(anchor.contract_address, trust.registry)
                    && Number(anchor.chain_id) === Number(trust.chain_id),
                    `the certificate names registry ${anchor.contract_address} on chain ` +
                    `${anchor.chain_id}; trusted: ${trust.registry} on chain ${trust.chain_id}`));
  if (!rpc) {
    checks.push(check("chain", false, "not verified against a chain: no chain given", true));
    return checks;
  }
  let tx, receipt, stored, storedRoot, latest, canonicalHash;
  try {
    const chainId = quantity(await rpc("eth_chainId", []));
    if (chainId !== Number(trust.chain_id)) {
      checks.push(check("chain: network", false, `not verified against a chain: the JSON-RPC ` +
                        `endpoint serves chain ${chainId}, not the trusted chain ` +
                        `${trust.chain_id}`, true));
      return checks;
    }
    const hash = String(anchor.transaction);
    if (/^0x[0-9a-fA-F]{64}$/.test(hash)) {
      tx = await rpc("eth_getTransactionByHash", [hash]);
      receipt = tx ? await rpc("eth_getTransactionReceipt", [hash]) : null;
    }
    const checkpointWords = await viewCall(rpc, trust.registry, ABI.checkpoint + word(index));
    if (checkpointWords && checkpointWords.length === 2 + 4 * 64) {
      const w = (i) => checkpointWords.slice(2 + 64 * i, 2 + 64 * (i + 1));
      stored = { tree_size: Number(BigInt("0x" + w(0))), block_number: Number(BigInt("0x" + w(2))),
                 root: w(3).toLowerCase() };
    }
    const rootWord = await viewCall(rpc, trust.registry, ABI.rootOf + word(treeSize));
    storedRoot = rootWord && rootWord.length === 66 ? rootWord.slice(2).toLowerCase() : null;
    latest = quantity(await rpc("eth_blockNumber", []));
    if (receipt && receipt.blockNumber != null) {
      const mined = await rpc("eth_getBlockByNumber", [receipt.blockNumber, false]);
      canonicalHash = mined ? mined.hash : null;
    }
  } catch (error) {
    if (error instanceof RpcError) {
      checks.push(check("chain", false, `could not read the chain: ${error.message}`));
    } else {
      checks.push(check("chain", false, `not verified against a chain: ${error.message}`, true));
    }
    return checks;
  }
  const where = `transaction ${anchor.transaction}`;
  const minedTx = tx && receipt && receipt.blockNumber != null ? { tx, receipt } : null;
  if (!minedTx) {
    checks.push(check("chain: anchoring transaction", false,
                      `${where} is not mined on chain ${trust.chain_id}`));
  } else {
    const number = quantity(receipt.blockNumber);
    const succeeded = quantity(receipt.status) === 1;
    const canonicalBlock = sameAddress(canonicalHash, receipt.blockHash);
    checks.push(check("chain: anchoring transaction",
                      succeeded && sameAddress(tx.to, trust.registry) && number === block
                      && canonicalBlock,
                      `${where}: ${succeeded ? "succeeded" : "FAILED"}, sent to ${tx.to}, mined ` +
                      `in block ${number} (certificate: ${block})` +
                      (canonicalBlock ? "" : ", no longer in the canonical chain")));
    checks.push(check("chain: anchorer",
                      (trust.anchorers || []).some((a) => sameAddress(a, tx.from)),
                      `sent by ${tx.from}; trusted anchorers: ${(trust.anchorers || []).join(", ")}`));
    const logs = (receipt.logs || []).filter((log) => sameAddress(log.address, trust.registry)
      && log.topics.length === 3 && log.topics[0].toLowerCase() === ABI.checkpointAnchored
      && log.data.length === 2 + 128).map((log) => ({
      index: Number(BigInt(log.topics[1])), tree_size: Number(BigInt(log.topics[2])),
      root: log.data.slice(2, 66).toLowerCase() }));
    checks.push(check("chain: checkpoint event", logs.length === 1 && logs[0].index === index
                      && logs[0].tree_size === treeSize && logs[0].root === root,
                      `CheckpointAnchored by the trusted registry in ${where}: ` +
                      (logs.map((l) => `checkpoint ${l.index}, tree size ${l.tree_size}, root ` +
                                `${l.root.slice(0, 16)}...`).join(", ") || "none") +
                      ` (certificate: checkpoint ${index}, tree size ${treeSize}, root ` +
                      `${root.slice(0, 16)}...)`));
  }
  checks.push(check("chain: checkpoint", stored && stored.tree_size === treeSize
                    && stored.root === root && stored.block_number === block
                    && storedRoot === root,
                    `the registry's checkpoint ${index} ` + (stored
                      ? `holds tree size ${stored.tree_size}, root ${stored.root.slice(0, 16)}..., ` +
                        `block ${stored.block_number}`
                      : "does not exist")));
  if (minedTx) {
    const number = quantity(receipt.blockNumber);
    const confirmations = Math.max(0, latest - number);
    const required = Number(trust.confirmations ?? 2);
    const final = confirmations >= required;
    checks.push(check("chain: finality", final,
                      `${confirmations} blocks mined on top of block ${number}; ${required} ` +
                      `required` + (final ? "" : ": not final yet, verify again later"), !final));
  }
  return checks;
}

/** The verdict of a list of checks, as anchoring.certificate.Verification. */
export function verdictOf(checks) {
  if (checks.some((c) => !c.ok && !c.undecided)) return "refused";
  if (checks.some((c) => c.undecided)) return "not-verified-against-a-chain";
  return "verified";
}

/** Every check `carbon-ledger verify` runs: {checks, fields, notes, verdict}. */
export async function verifyCertificate(cert, trust, rpc) {
  const offline = verifyOffline(cert);
  const checks = [...offline.checks];
  if (!offline.fatal) {
    try {
      checks.push(...await checkChain(cert, trust, rpc));
    } catch (error) {
      checks.push(check("structure", false, `malformed certificate: ${error.message}`));
    }
  }
  return { checks, fields: offline.fields, notes: offline.notes, verdict: verdictOf(checks) };
}
