#!/usr/bin/env node
// Writes the confirmAlert gas figures into docs/benchmarks.md (for `scripts/contracts.sh gas`).
//
//   node gas-report.js <forge-log> <benchmarks.md> <arch> <cpu-model> <date>
//
// Reads the CONFIRM_ALERT_GAS lines that test/ConfirmAlertGas.t.sol prints and replaces the
// section between the BEGIN/END markers below (appending it if absent, creating the file with a
// short header if missing); everything else in the file stays as it is.
'use strict';

const fs = require('fs');
const path = require('path');

const BEGIN = '<!-- BEGIN confirmAlert-gas: written by `scripts/contracts.sh gas`, do not edit by hand -->';
const END = '<!-- END confirmAlert-gas -->';
const HEADER = '# Benchmarks\n\nMeasured figures of MACH in Rust, each with the command that reproduces it.\n';
// Rows the gas tests print, per setup: [operators, non-signers].
const COLD = [[16, 0], [16, 1], [16, 10]];
const WARM = [[10, 0], [10, 1], [10, 3]];
// The deployed contract's figures in the configuration of the warm rows (10 operators in one
// quorum, measured around the call with warm storage, solc 0.8.37, EVM Osaka), by non-signers.
const REFERENCE = new Map([[0, 238782], [1, 247561], [3, 265025]]);

function fail(message) {
  process.stderr.write('gas-report: ' + message + '\n');
  process.exit(1);
}

const [logFile, docFile, arch, cpu, date] = process.argv.slice(2);
if (!date) fail('usage: gas-report.js <forge-log> <benchmarks.md> <arch> <cpu-model> <date>');

const rows = new Map();
const pattern = /CONFIRM_ALERT_GAS setup=(\w+) operators=(\d+) non_signers=(\d+) execution=(\d+) transaction=(\d+) calldata_bytes=(\d+)/;
for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
  const m = pattern.exec(line);
  if (m) {
    rows.set(`${m[1]}/${m[2]}/${m[3]}`, {
      operators: Number(m[2]), nonSigners: Number(m[3]), execution: Number(m[4]),
      transaction: Number(m[5]), calldata: m[6],
    });
  }
}
function row(setup, operators, nonSigners) {
  const r = rows.get(`${setup}/${operators}/${nonSigners}`);
  if (!r) fail(`no ${setup} figure for ${operators} operators, ${nonSigners} non-signers in ${logFile}: did the gas tests run?`);
  return r;
}
const thousands = (n) => n.toLocaleString('en-US');

const cold = COLD.map(([ops, n]) => {
  const r = row('cold', ops, n);
  return `| ${n} | ${ops - n} | ${r.calldata} | ${thousands(r.execution)} | ${thousands(r.transaction)} |`;
});
const warm = WARM.map(([ops, n]) => {
  const r = row('warm', ops, n);
  const reference = REFERENCE.get(n);
  const ratio = (r.execution / reference).toFixed(3);
  if (r.execution > reference) {
    process.stderr.write(`gas-report: warning: ${n} non-signers cost ${r.execution}, more than the reference ${reference}\n`);
  }
  return `| ${n} | ${ops - n} | ${thousands(r.execution)} | ${thousands(reference)} | ${ratio} |`;
});
const section = [
  BEGIN,
  '## MachServiceManager.confirmAlert gas',
  '',
  'Each alert asks a 66 % threshold of quorum 0; the non-signers are listed in the submission as',
  'the aggregator does. EVM rules: Osaka (the `gas` profile of `contracts/foundry.toml`), solc',
  '0.8.37 with the optimizer at 200 runs. The EigenLayer registries are the forge test doubles,',
  'which keep their histories in the same packed entries as the real ones, so each by-index read',
  'costs what it does on chain. Every measured alert is one whose signed message maps to G1 in',
  'two tries of `hashToG1`, the average: each further try costs one modexp, about 4,900 gas, so',
  'a figure for one particular alert can be that much higher or lower.',
  '',
  '### Against the deployed contract: 10 operators, warm storage',
  '',
  'The configuration of the deployed contract\'s own figures: one quorum of 10 operators with',
  'equal stake, gas measured around the call with warm storage (everything the call reads was',
  'read earlier in the same transaction; only the new alert\'s slots are written cold).',
  '',
  '| non-signers | signers | our gas | deployed contract | ours / deployed |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...warm,
  '',
  '### One transaction: 16 operators, cold storage',
  '',
  '"Execution" is the gas the call uses with cold storage and accounts, as a transaction of its',
  'own meets them; "transaction" adds the 21,000 base cost and the calldata cost.',
  '',
  '| non-signers | signers | calldata bytes | execution gas | transaction gas |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...cold,
  '',
  '- Command: `scripts/contracts.sh gas` (runs `FOUNDRY_PROFILE=gas forge test --match-path',
  '  test/ConfirmAlertGas.t.sol -vv` in `contracts/`).',
  `- Machine: ${arch}, ${cpu} (gas does not depend on it).`,
  `- Date: ${date}.`,
  END,
].join('\n');

let doc = fs.existsSync(docFile) ? fs.readFileSync(docFile, 'utf8') : HEADER;
const start = doc.indexOf(BEGIN);
const end = doc.indexOf(END);
if (start !== -1 && end > start) {
  doc = doc.slice(0, start) + section + doc.slice(end + END.length);
} else if (start !== -1 || end !== -1) {
  fail(`${docFile} has only one of the confirmAlert-gas markers: fix it by hand first`);
} else {
  doc = doc.replace(/\n*$/, '\n\n') + section + '\n';
}
fs.mkdirSync(path.dirname(docFile), { recursive: true });
fs.writeFileSync(docFile, doc);
