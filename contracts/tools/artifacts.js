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
//       and state mutability (extra items in the artifact are fine), and unless every error the
//       artifact declares is one of the reference's: a client decoding with the deployed ABI must
//       be able to read any custom error we raise.
//   node artifacts.js reverts <forge-test.json> <forge-out-dir> <reference-abi.json> <strings.json>
//       Decodes every revert the service manager's tests expect (the RevertExpected events that
//       test/MachFixture.sol logs, from `forge test --json -vv`) with the reference ABI and the
//       deployed libraries' revert strings, and fails on any it cannot read: a custom error the
//       reference ABI lacks, a string the deployed contract's libraries do not have, a panic.
//       Then checks that the tests expect every revert the MachServiceManager source can raise:
//       each custom error of its ABI and each require/revert string in the sources it is
//       compiled from, except those listed in UNREACHABLE below with the reason.
'use strict';

const fs = require('fs');
const path = require('path');

// Contract name -> source file under contracts/src: what the Rust code embeds.
const CONTRACTS = {
  MachServiceManager: 'MachServiceManager.sol',
  // OpenZeppelin 4.9's, compiled because src/proxy/Proxies.sol imports them.
  TransparentUpgradeableProxy: 'TransparentUpgradeableProxy.sol',
  ProxyAdmin: 'ProxyAdmin.sol',
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
  const referenceErrors = new Set(reference.filter((i) => i.type === 'error').map(key));
  for (const item of ours) {
    if (item.type === 'error' && !referenceErrors.has(key(item))) {
      problems.push(`extra error the deployed ABI cannot decode: ${describe(item)}`);
    }
  }
  if (problems.length) {
    fail(`${path.basename(artifactFile)} is not ABI-compatible with ${referenceFile}:\n  ` +
      problems.join('\n  '));
  }
  process.stdout.write(`${path.basename(artifactFile)}: all ${reference.length} items of the ` +
    'reference ABI match\n');
}

// Revert strings in the service manager's sources that no call can reach, with the reason; the
// coverage check in `reverts` does not ask a test for them. Whole files are keyed by path.
const UNREACHABLE = {
  'Initializable: contract is not initializing':
    'onlyInitializing guards OpenZeppelin\'s __X_init functions, which we never call',
  'Initializable: contract is initializing':
    '_disableInitializers runs only in the constructor, outside any initializer',
  'Pausable: index is paused':
    'MachServiceManager, like the deployed contract, pauses with whenNotPaused only; ' +
    'onlyWhenNotPaused serves ERC20Strategy',
  'node_modules/@openzeppelin/contracts-upgradeable/utils/AddressUpgradeable.sol':
    'only isContract() is used (by Initializable), which cannot revert',
};

const ERROR_STRING = '08c379a0';
const PANIC = '4e487b71';

function keccakHex(text) {
  return require('js-sha3').keccak256(text);
}

// Data of every RevertExpected(bytes) log in a `forge test --json -vv` report, with the tests that
// logged it.
function expectedReverts(report) {
  const topic = '0x' + keccakHex('RevertExpected(bytes)');
  const seen = new Map();
  for (const [suite, result] of Object.entries(report)) {
    for (const [test, outcome] of Object.entries(result.test_results || {})) {
      for (const log of outcome.logs || []) {
        if (!log.topics || log.topics[0] !== topic) continue;
        const body = log.data.slice(2);
        const length = parseInt(body.slice(64, 128), 16);
        const data = body.slice(128, 128 + 2 * length);
        if (!seen.has(data)) seen.set(data, []);
        seen.get(data).push(`${suite.split(':').pop()}.${test}`);
      }
    }
  }
  return seen;
}

// The string of Error(string) revert data (hex without 0x).
function errorString(data) {
  const body = data.slice(8);
  const length = parseInt(body.slice(64, 128), 16);
  return Buffer.from(body.slice(128, 128 + 2 * length), 'hex').toString('utf8');
}

// Every string literal given as the reason of a require(...) or revert(...) in `text`.
function sourceReasons(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const reasons = [];
  const call = /\b(require|revert)\s*\(/g;
  let m;
  while ((m = call.exec(code)) !== null) {
    let depth = 1;
    let i = call.lastIndex;
    let inString = false;
    let lastComma = i;
    for (; i < code.length && depth > 0; i++) {
      const c = code[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (c === ',' && depth === 1) lastComma = i + 1;
    }
    const last = code.slice(lastComma, i - 1).trim();
    const literal = /^"((?:[^"\\]|\\.)*)"$/.exec(last);
    if (literal) reasons.push(literal[1]);
  }
  return reasons;
}

function checkReverts(reportFile, outDir, referenceFile, stringsFile) {
  const report = readJson(reportFile);
  let reference = readJson(referenceFile);
  if (!Array.isArray(reference)) reference = reference.abi;
  const strings = readJson(stringsFile).strings;
  const errorsBySelector = new Map();
  for (const item of reference.filter((i) => i.type === 'error')) {
    errorsBySelector.set(keccakHex(key(item).slice('error '.length)).slice(0, 8), item);
  }

  const problems = [];
  const seen = expectedReverts(report);
  if (seen.size === 0) fail(`${reportFile} has no RevertExpected logs: was it written by \`forge test --json -vv\`?`);
  const raisedErrors = new Set();
  const raisedStrings = new Set();
  for (const [data, tests] of seen) {
    const where = tests.slice(0, 3).join(', ');
    const selector = data.slice(0, 8);
    if (selector === ERROR_STRING) {
      const reason = errorString(data);
      if (Object.prototype.hasOwnProperty.call(strings, reason)) raisedStrings.add(reason);
      else problems.push(`"${reason}" is not a string of the deployed contract's libraries (${where})`);
    } else if (selector === PANIC) {
      problems.push(`panic 0x${data.slice(-2)}: the deployed ABI has no such error (${where})`);
    } else if (errorsBySelector.has(selector) && data.length === 8) {
      raisedErrors.add(errorsBySelector.get(selector).name);
    } else {
      problems.push(`0x${data} does not decode with the deployed ABI (${where})`);
    }
  }

  const artifact = readJson(path.join(outDir, 'MachServiceManager.sol', 'MachServiceManager.json'));
  for (const item of artifact.abi.filter((i) => i.type === 'error')) {
    if (!raisedErrors.has(item.name)) problems.push(`no test expects the custom error ${item.name}()`);
  }
  const metadata = typeof artifact.rawMetadata === 'string' ? JSON.parse(artifact.rawMetadata) : artifact.metadata;
  const sources = Object.keys((metadata && metadata.sources) || {});
  if (!sources.includes('src/MachServiceManager.sol')) {
    fail(`no source list in the MachServiceManager artifact under ${outDir}`);
  }
  let reasonsInSource = 0;
  for (const source of sources) {
    if (UNREACHABLE[source]) continue;
    // Source paths are relative to the Foundry project, the parent of this tools directory.
    const file = path.resolve(__dirname, '..', source);
    for (const reason of sourceReasons(fs.readFileSync(file, 'utf8'))) {
      reasonsInSource++;
      if (!Object.prototype.hasOwnProperty.call(strings, reason)) {
        problems.push(`${source} reverts "${reason}", which the deployed contract's libraries do not have`);
      } else if (!raisedStrings.has(reason) && !UNREACHABLE[reason]) {
        problems.push(`no test expects "${reason}" (${source})`);
      }
    }
  }
  if (problems.length) fail(`revert data check failed:\n  ${problems.join('\n  ')}`);
  process.stdout.write(`reverts: all ${seen.size} distinct reverts the tests expect decode with the deployed ` +
    `ABI or its libraries' strings; the tests expect every custom error and every reachable ` +
    `revert string (${reasonsInSource} in ${sources.length} source files, ` +
    `${Object.keys(UNREACHABLE).length} unreachable)\n`);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'export' && args.length === 2) exportArtifacts(args[0], args[1]);
else if (command === 'abi-compat' && args.length === 2) abiCompat(args[0], args[1]);
else if (command === 'reverts' && args.length === 4) checkReverts(...args);
else fail('usage: artifacts.js export <forge-out-dir> <artifacts-dir> | ' +
  'abi-compat <artifact.json> <reference-abi.json> | ' +
  'reverts <forge-test.json> <forge-out-dir> <reference-abi.json> <strings.json>');
