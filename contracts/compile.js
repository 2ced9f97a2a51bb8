#!/usr/bin/env node
// Reproducible compilation of the carbon-ledger contracts with the pinned `solc` npm package.
//
// Usage: node contracts/compile.js [OUTPUT_DIR]
//   OUTPUT_DIR defaults to contracts/artifacts. One <ContractName>.json is written per entry
//   of CONTRACTS below. Output is byte-for-byte reproducible: same sources + same pinned
//   compiler + same settings => identical files (sorted keys, 2-space indent, trailing newline).
//
// Install the pinned toolchain first: npm ci --prefix contracts
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

// Contracts to compile: `source` is relative to this directory, `name` is the contract name
// inside it (and the artifact file name). Add new contracts (e.g. a token) here.
const CONTRACTS = [
  { name: "AnchorRegistry", source: "AnchorRegistry.sol" },
  { name: "CarbonCreditToken", source: "CarbonCreditToken.sol" },
];

// Deterministic compiler settings, recorded verbatim in every artifact.
// - evmVersion "cancun": executed by py-evm's Cancun and Prague VMs (eth-tester defaults to
//   Prague) and supported by mainnet and the major EVM L2s.
// - bytecodeHash "none": no IPFS/Swarm metadata hash in the bytecode, so comments/NatSpec or
//   file-system differences never change the bytecode (the CBOR trailer only holds the solc
//   version).
const SETTINGS = {
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none" },
  optimizer: { enabled: true, runs: 200 },
};

const CONTRACTS_DIR = __dirname;
const NODE_MODULES_DIR = path.join(CONTRACTS_DIR, "node_modules");

function loadSolc() {
  let solc;
  try {
    solc = require(path.join(NODE_MODULES_DIR, "solc"));
  } catch (err) {
    throw new Error(
      `cannot load solc from ${NODE_MODULES_DIR} (${err.message}); ` +
        "run `npm ci --prefix contracts` first"
    );
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(CONTRACTS_DIR, "package.json"), "utf8"));
  const pinned = (pkg.devDependencies || {}).solc || (pkg.dependencies || {}).solc;
  const actual = solc.version();
  if (!pinned || !actual.startsWith(`${pinned}+`)) {
    throw new Error(
      `solc ${actual} does not match the version pinned in package.json (${pinned}); ` +
        "run `npm ci --prefix contracts`"
    );
  }
  return solc;
}

function isInside(parent, child) {
  const rel = path.relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

// Import callback: "@scope/pkg/..." style imports are read from contracts/node_modules and any
// other import from the contracts directory. Source unit names stay relative, so nothing
// machine-specific leaks into the compilation.
function findImports(importPath) {
  const candidates = [
    path.join(NODE_MODULES_DIR, importPath),
    path.join(CONTRACTS_DIR, importPath),
  ];
  for (const candidate of candidates) {
    if (isInside(CONTRACTS_DIR, candidate) && fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: `import not found: ${importPath}` };
}

function sortKeys(value) {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === "object") {
    const sorted = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys(value[key]);
    }
    return sorted;
  }
  return value;
}

function compile(solc) {
  const sources = {};
  const sourceSha256 = {};
  for (const { source } of CONTRACTS) {
    const raw = fs.readFileSync(path.join(CONTRACTS_DIR, source));
    sources[source] = { content: raw.toString("utf8") };
    sourceSha256[source] = crypto.createHash("sha256").update(raw).digest("hex");
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: {
        "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
      },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const diagnostics = output.errors || [];
  for (const diagnostic of diagnostics) {
    process.stderr.write(`${diagnostic.formattedMessage || diagnostic.message}\n`);
  }
  if (diagnostics.some((d) => d.severity === "error")) {
    throw new Error("compilation failed");
  }
  return { sourceSha256, output };
}

function main(argv) {
  const outDir = path.resolve(argv[0] || path.join(CONTRACTS_DIR, "artifacts"));
  const solc = loadSolc();
  const { sourceSha256, output } = compile(solc);
  fs.mkdirSync(outDir, { recursive: true });

  for (const { name, source } of CONTRACTS) {
    const compiled = (output.contracts[source] || {})[name];
    if (!compiled) {
      throw new Error(`contract ${name} not found in ${source}`);
    }
    const artifact = sortKeys({
      contractName: name,
      abi: compiled.abi,
      bytecode: `0x${compiled.evm.bytecode.object}`,
      deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
      compiler: solc.version(),
      settings: SETTINGS,
      sourceSha256: sourceSha256[source],
    });
    const file = path.join(outDir, `${name}.json`);
    fs.writeFileSync(file, `${JSON.stringify(artifact, null, 2)}\n`);
    process.stdout.write(`wrote ${file}\n`);
  }
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`compile.js: ${err.message}\n`);
  process.exit(1);
}
