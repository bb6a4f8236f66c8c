#!/usr/bin/env node
// Artifact plumbing for scripts/contracts.sh.
//
//   node artifacts.js export <forge-out-dir> <artifacts-dir>
//       Writes <artifacts-dir>/<Contract>.json for every contract in CONTRACTS as compact JSON
//       {"abi": [...], "bytecode": "0x...", "deployedBytecode": "0x..."} with sorted keys and a
//       final newline, and removes any other .json file there, so the directory is exactly what
//       one build produces.
//   node artifacts.js abi-compat <artifact.json> <reference-abi.json>
//       Fails unless every function, event, error and the constructor of the reference ABI is in
//       the artifact's ABI with the same name, parameter names, types, internal types, indexing
//       and state mutability (extra items in the artifact are fine).
'use strict';

const fs = require('fs');
const path = require('path');

// Contract name -> source file under contracts/src: what the Rust code embeds.
const CONTRACTS = {
  MachServiceManager: 'MachServiceManager.sol',
  TransparentUpgradeableProxy: 'proxy/TransparentUpgradeableProxy.sol',
  ProxyAdmin: 'proxy/ProxyAdmin.sol',
  PauserRegistry: 'PauserRegistry.sol',
  EmptyContract: 'EmptyContract.sol',
  TestERC20: 'TestERC20.sol',
  ERC20Strategy: 'ERC20Strategy.sol',
};

function fail(message) {
  process.stderr.write(message + '\n');
  process.exit(1);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
}

// JSON with object keys sorted at every level, no whitespace.
function canonical(value) {
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    return '{' + Object.keys(value).sort()
      .map((k) => JSON.stringify(k) + ':' + canonical(value[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}

function hexObject(field, name) {
  const object = field && field.object;
  if (typeof object !== 'string' || !/^0x[0-9a-f]*$/.test(object)) {
    fail(`${name}: bytecode missing or unlinked in the forge output`);
  }
  return object;
}

function exportArtifacts(outDir, artifactsDir) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const wanted = new Set();
  for (const [name, source] of Object.entries(CONTRACTS)) {
    const forgeArtifact = readJson(path.join(outDir, path.basename(source), name + '.json'));
    const artifact = {
      abi: forgeArtifact.abi,
      bytecode: hexObject(forgeArtifact.bytecode, name),
      deployedBytecode: hexObject(forgeArtifact.deployedBytecode, name),
    };
    const file = name + '.json';
    wanted.add(file);
    fs.writeFileSync(path.join(artifactsDir, file), canonical(artifact) + '\n');
  }
  for (const file of fs.readdirSync(artifactsDir)) {
    if (file.endsWith('.json') && !wanted.has(file)) fs.unlinkSync(path.join(artifactsDir, file));
  }
}

// A parameter as text: name, type (tuples spelled out), internal type, indexed.
function describeParam(p) {
  const type = p.type.startsWith('tuple')
    ? '(' + p.components.map(describeParam).join(', ') + ')' + p.type.slice('tuple'.length)
    : p.type;
  return `${type} ${p.name || '_'} [${p.internalType || '?'}]${p.indexed ? ' indexed' : ''}`;
}

function describe(item) {
  const params = (list) => (list || []).map(describeParam).join(', ');
  let text = `${item.type} ${item.name || ''}(${params(item.inputs)})`;
  if (item.outputs) text += ` returns (${params(item.outputs)})`;
  if (item.stateMutability) text += ' ' + item.stateMutability;
  if (item.anonymous) text += ' anonymous';
  return text;
}

// Identity of an item regardless of names: kind, name and parameter types.
function key(item) {
  const types = (list) => (list || []).map(function t(p) {
    return p.type.startsWith('tuple')
      ? '(' + p.components.map(t).join(',') + ')' + p.type.slice('tuple'.length)
      : p.type;
  }).join(',');
  return `${item.type} ${item.name || ''}(${types(item.inputs)})`;
}

function abiCompat(artifactFile, referenceFile) {
  const ours = readJson(artifactFile).abi;
  let reference = readJson(referenceFile);
  if (!Array.isArray(reference)) reference = reference.abi;
  const byKey = new Map(ours.map((item) => [key(item), item]));
  const problems = [];
  for (const item of reference) {
    const mine = byKey.get(key(item));
    if (!mine) {
      problems.push(`missing: ${describe(item)}`);
    } else if (describe(mine) !== describe(item)) {
      problems.push(`differs:\n    reference: ${describe(item)}\n    ours:      ${describe(mine)}`);
    }
  }
  if (problems.length) {
    fail(`${path.basename(artifactFile)} is not ABI-compatible with ${referenceFile}:\n  ` +
      problems.join('\n  '));
  }
  process.stdout.write(`${path.basename(artifactFile)}: all ${reference.length} items of the ` +
    'reference ABI match\n');
}

const [command, ...args] = process.argv.slice(2);
if (command === 'export' && args.length === 2) exportArtifacts(args[0], args[1]);
else if (command === 'abi-compat' && args.length === 2) abiCompat(args[0], args[1]);
else fail('usage: artifacts.js export <forge-out-dir> <artifacts-dir> | ' +
  'abi-compat <artifact.json> <reference-abi.json>');
