#!/usr/bin/env node
// Native-solc command line over the npm `solc` module, for forge.
//
// Forge asks two things of a compiler binary:
//   solc --version          -> the two-line banner of the native binary; forge reads the version
//                              from its last line ("Version: 0.8.37+commit.<hash>.Linux.g++").
//   solc --standard-json …  -> Standard JSON input on stdin, Standard JSON output on stdout.
// Forge may add --allow-paths/--base-path/--include-path (with a value) or other flags to the
// second form: they only matter to a compiler that reads files itself, and forge puts every
// source's content into the input, so they are accepted and ignored. Imports that are missing
// from the input are read from disk relative to the base path (or the working directory).
'use strict';

const fs = require('fs');
const path = require('path');

function loadCompiler() {
  try {
    return require('solc');
  } catch (err) {
    process.stderr.write(
      'tools/solc: cannot load the npm `solc` package (' + err.message + ').\n' +
      'Run `npm ci` at the repository root first.\n');
    process.exit(1);
  }
}

// "0.8.37+commit.f401782d.Emscripten.clang" -> "0.8.37+commit.f401782d.Linux.g++"
function nativeVersion(solc) {
  const version = solc.version();
  const match = /^(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?\+commit\.[0-9a-f]+)/.exec(version);
  if (!match) {
    throw new Error('unexpected version string from the npm solc module: ' + version);
  }
  return match[1] + '.Linux.g++';
}

// Flags that native solc reads with a separate value.
const FLAGS_WITH_VALUE = new Set(['--allow-paths', '--base-path', '--include-path']);

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    let value = null;
    if (FLAGS_WITH_VALUE.has(flag)) {
      value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    }
    if (flag === '--version') opts.version = true;
    else if (flag === '--standard-json') opts.standardJson = true;
    else if (flag === '--base-path') opts.basePath = value;
    else if (flag === '--include-path') opts.includePaths.push(value);
    // Everything else (--allow-paths, --no-color, a trailing "-", …) is irrelevant here.
  }
  return opts;
}

function readStdin() {
  const chunks = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      if (err.code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function importReader(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths];
  return (importPath) => {
    for (const root of roots) {
      const candidate = path.resolve(root, importPath);
      if (fs.existsSync(candidate)) {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      }
    }
    return { error: 'file not found: ' + importPath };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = loadCompiler();
  if (opts.version) {
    process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' +
      nativeVersion(solc) + '\n');
    return 0;
  }
  if (opts.standardJson) {
    const input = readStdin();
    const output = solc.compile(input, { import: importReader(opts) });
    process.stdout.write(output);
    return 0;
  }
  process.stderr.write(
    'usage: solc --version | solc --standard-json [--base-path P] [--include-path P] ' +
    '[--allow-paths P]\n(this is the npm solc module behind a native-solc command line; ' +
    'only the forms forge uses are supported)\n');
  return 2;
}

process.exitCode = main();
