// The certificate pages' glue: reads the certificate, the reader's trust anchors and JSON-RPC
// URL from the page, runs verify.js and shows every check, each field's status and the verdict
// (in words, not colour only). No build step, no CDN.

import { jsonRpc, verifyCertificate } from "./verify.js";

const ui = JSON.parse(document.getElementById("ui").textContent);
const $ = (id) => document.getElementById(id);

function cell(row, text, tag = "td") {
  const element = document.createElement(tag);
  element.textContent = text;
  row.append(element);
  return element;
}

function readTrust() {
  const text = $("trust-anchors").value.trim();
  if (!text) return { trust: null, warning: null };
  try {
    return { trust: JSON.parse(text), warning: null };
  } catch {
    return { trust: null, warning: ui["bad-trust"] };
  }
}

/** ledger.domain.quantities.format_grams: exact, trailing zeros dropped. */
function formatGrams(grams) {
  const sign = grams < 0 ? "-" : "";
  const n = BigInt(Math.abs(grams));
  const group = (x) => x.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  for (const [unit, size, digits] of [["t", 1000000n, 6], ["kg", 1000n, 3]]) {
    if (n >= size) {
      const fraction = (n % size).toString().padStart(digits, "0").replace(/0+$/, "");
      return `${sign}${group(n / size)}${fraction ? "." + fraction : ""} ${unit}`;
    }
  }
  return `${sign}${n} g`;
}

/** A record field as people read it (api/explorer/certificates.py, _shown). */
function shown(name, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (name.endsWith("_g") && Number.isSafeInteger(value)) return formatGrams(value);
  if (name === "purpose") return ui[`purpose:${value}`] ?? String(value);
  if (name === "serial_ranges" && Array.isArray(value)) {
    return value.map((r) => (Array.isArray(r) && r.length === 2
      ? `${Number(r[0]).toLocaleString("en")}–${(Number(r[1]) - 1).toLocaleString("en")}`
      : JSON.stringify(r))).join(", ");
  }
  if (name === "details" && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).map(([k, v]) => `${ui[`label:${k}`] ?? k}: ${
      typeof v === "object" ? JSON.stringify(v) : shown(k, v)}`).join("; ") || "—";
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

function showFields(result, cert, verified) {
  const table = $("fields");
  if (!table) return;
  const body = table.tBodies[0];
  const byName = new Map(result.fields.map((f) => [f.name, f]));
  if (table.hidden) { // the file mode: the rows come from the certificate itself
    body.replaceChildren();
    for (const [name, value] of Object.entries(cert.record || {})) {
      const row = body.insertRow();
      row.dataset.field = name;
      cell(row, ui[`label:${name}`] ?? name, "th").scope = "row";
      cell(row, shown(name, value));
      cell(row, "").className = "field-status";
    }
    table.hidden = false;
  }
  for (const row of body.rows) {
    const field = byName.get(row.dataset.field);
    const status = row.querySelector(".field-status");
    if (!status) continue;
    let text;
    let kind;
    if (field && field.contradicted) {
      text = `✗ ${ui["field-mismatch"]}: ${field.source}`; kind = "bad";
    } else if (field && field.proven && verified) {
      text = `✓ ${ui["field-verified"]}: ${field.source}` + (field.caveat ? ` (${field.caveat})` : "");
      kind = "ok";
    } else {
      text = `? ${ui["field-unverified"]}` + (field ? `: ${field.source}` : ""); kind = "muted";
    }
    status.textContent = text;
    status.className = `field-status ${kind}`;
    row.dataset.status = kind;
  }
}

function showResult(result, cert, warning) {
  const body = $("checks").tBodies[0];
  body.replaceChildren();
  for (const check of result.checks) {
    const row = body.insertRow();
    row.dataset.check = check.name;
    row.dataset.result = check.label;
    cell(row, check.name);
    const mark = check.undecided ? "–" : check.ok ? "✓" : "✗";
    const label = cell(row, `${mark} ${ui[check.label] ?? check.label}`);
    label.className = check.undecided ? "muted" : check.ok ? "ok" : "bad";
    cell(row, check.detail);
  }
  const notes = $("notes");
  notes.replaceChildren(...[warning, ...result.notes].filter(Boolean).map((note) => {
    const item = document.createElement("li");
    item.textContent = note;
    return item;
  }));
  $("notes-section").hidden = notes.children.length === 0;
  const verdict = $("verdict");
  const failed = result.checks.filter((c) => !c.ok && !c.undecided).map((c) => c.name);
  const undecided = result.checks.filter((c) => c.undecided).map((c) => c.name);
  let text = ui[result.verdict];
  if (failed.length) text += ` (${failed.join(", ")})`;
  else if (undecided.length) text += ` (${undecided.join(", ")})`;
  verdict.textContent = text;
  verdict.dataset.verdict = result.verdict;
  verdict.className = `verdict ${result.verdict === "verified" ? "ok"
    : result.verdict === "refused" ? "bad" : "muted"}`;
  showFields(result, cert, result.verdict === "verified");
}

let current = null;

async function run() {
  const verdict = $("verdict");
  if (!current) return;
  verdict.textContent = ui.running;
  verdict.dataset.verdict = "pending";
  const { trust, warning } = readTrust();
  const url = $("rpc-url").value.trim();
  const rpc = url ? jsonRpc(url) : null;
  let result;
  try {
    result = await verifyCertificate(current, trust, rpc);
  } catch (error) {
    result = { checks: [{ name: "structure", ok: false, undecided: false, label: "FAIL",
                          detail: `malformed certificate: ${error.message}` }],
               fields: [], notes: [], verdict: "refused" };
  }
  showResult(result, current, warning);
}

function loadFromText(text) {
  const error = $("certificate-error");
  try {
    current = JSON.parse(text);
    error.hidden = true;
  } catch {
    current = null;
    error.textContent = ui["bad-json"];
    error.hidden = false;
    $("verdict").textContent = ui["bad-json"];
    $("verdict").dataset.verdict = "refused";
    return;
  }
  $("fields").hidden = true;
  run();
}

$("verifier-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("certificate-input")) loadFromText($("certificate-input").value);
  else run();
});

const embedded = $("certificate");
if (embedded) {
  current = JSON.parse(embedded.textContent);
  run();
} else if ($("certificate-input")) {
  $("verdict").textContent = "";
  $("certificate-upload").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (!file) return;
    const text = await file.text();
    $("certificate-input").value = text;
    loadFromText(text);
  });
  $("certificate-input").addEventListener("change", () => loadFromText($("certificate-input").value));
}
