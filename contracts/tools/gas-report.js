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
const EXPECTED = [0, 1, 10];

function fail(message) {
  process.stderr.write('gas-report: ' + message + '\n');
  process.exit(1);
}

const [logFile, docFile, arch, cpu, date] = process.argv.slice(2);
if (!date) fail('usage: gas-report.js <forge-log> <benchmarks.md> <arch> <cpu-model> <date>');

const rows = new Map();
const pattern = /CONFIRM_ALERT_GAS non_signers=(\d+) signers=(\d+) execution=(\d+) transaction=(\d+) calldata_bytes=(\d+)/;
for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
  const m = pattern.exec(line);
  if (m) rows.set(Number(m[1]), { signers: m[2], execution: m[3], transaction: m[4], calldata: m[5] });
}
for (const n of EXPECTED) {
  if (!rows.has(n)) fail(`no figure for ${n} non-signers in ${logFile}: did ConfirmAlertGasTest run?`);
}

const table = EXPECTED.map((n) => {
  const r = rows.get(n);
  return `| ${n} | ${r.signers} | ${r.calldata} | ${r.execution} | ${r.transaction} |`;
});
const section = [
  BEGIN,
  '## MachServiceManager.confirmAlert gas',
  '',
  'One quorum of 16 operators, each alert at a 66 % threshold; the non-signers are listed in the',
  'submission as the aggregator does. "Execution" is the gas the call uses with cold storage and',
  'accounts; "transaction" adds the 21,000 base cost and the calldata cost (Cancun rules). The',
  'EigenLayer registries are the forge test doubles, which keep their histories in the same',
  'packed entries as the real ones, so each by-index read costs what it does on chain.',
  '',
  '| non-signers | signers | calldata bytes | execution gas | transaction gas |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...table,
  '',
  '- Command: `scripts/contracts.sh gas` (runs `forge test --match-contract ConfirmAlertGasTest -vv`',
  '  in `contracts/`, source `contracts/test/ConfirmAlertGas.t.sol`).',
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
