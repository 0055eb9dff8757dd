#!/usr/bin/env node
// Runs the GraphQL-over-HTTP audit suite of graphql-http against one
// GraphQL endpoint and prints one line per audit, then a closing line
// "N passed, M failed".
//
// Usage:
//   node audit.mjs [--header 'Name: value']... [--accepted FILE] [URL]
//
// URL defaults to $AUDIT_URL. Headers are added to every request the audits
// send (an audit's own header of the same name wins); more can be given in
// $AUDIT_HEADERS, one "Name: value" a line. The accepted file (default
// audit-accepted.json beside this script) lists the SHOULD audits that may
// fail, each with its reason.
//
// Results: ok; error (a failing MUST); warn (a failing SHOULD); notice (a
// failing MAY, which is optional). The run fails (exit 1) when a MUST fails
// or a SHOULD that is not accepted fails; "M failed" counts exactly those.
// Exit 2 is a usage or setup error.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverAudits } from 'graphql-http';

const here = dirname(fileURLToPath(import.meta.url));
const requestTimeoutMs = 15000;

function usage(message) {
  console.error(`audit.mjs: ${message}`);
  console.error("usage: node audit.mjs [--header 'Name: value']... [--accepted FILE] [URL]");
  process.exit(2);
}

function parseHeader(line, headers) {
  const i = line.indexOf(':');
  if (i <= 0) usage(`a header must be "Name: value", got ${JSON.stringify(line)}`);
  headers.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
}

function parseArgs(argv) {
  const headers = new Headers();
  for (const line of (process.env.AUDIT_HEADERS || '').split('\n')) {
    if (line.trim() !== '') parseHeader(line, headers);
  }
  let url = process.env.AUDIT_URL || '';
  let accepted = join(here, 'audit-accepted.json');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--header' || arg === '-H') {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      parseHeader(argv[++i], headers);
    } else if (arg === '--accepted') {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      accepted = argv[++i];
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      url = arg;
    }
  }
  if (url === '') usage('no URL: pass it as an argument or in AUDIT_URL');
  try {
    new URL(url);
  } catch {
    usage(`not a URL: ${url}`);
  }
  return { url, headers, accepted };
}

// loadAccepted reads {"accepted": [{"id", "reason"}]}: the SHOULD audits
// allowed to fail.
function loadAccepted(file) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    usage(`cannot read the accepted SHOULD failures ${file}: ${err.message}`);
  }
  const out = new Map();
  for (const entry of doc.accepted || []) {
    if (typeof entry.id !== 'string' || typeof entry.reason !== 'string' || entry.reason.trim() === '') {
      usage(`${file}: every entry needs a string id and a reason`);
    }
    out.set(entry.id, entry.reason);
  }
  return out;
}

// withHeaders returns a fetch that adds the extra headers to each request,
// unless the audit set the same header itself, and gives up on a request
// after requestTimeoutMs.
function withHeaders(extra) {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    for (const [name, value] of extra) {
      if (!headers.has(name)) headers.set(name, value);
    }
    return fetch(input, { ...init, headers, signal: AbortSignal.timeout(requestTimeoutMs) });
  };
}

// describe summarises a failing audit's response, for the log.
async function describe(res) {
  if (!res) return '';
  let body = '';
  try {
    body = (await res.clone().text()).replace(/\s+/g, ' ').slice(0, 300);
  } catch {
    body = '(body already read)';
  }
  return ` [status ${res.status}, content-type ${res.headers.get('content-type') ?? '(none)'}, body ${body}]`;
}

const { url, headers, accepted } = parseArgs(process.argv.slice(2));
const acceptedShoulds = loadAccepted(accepted);
const audits = serverAudits({ url, fetchFn: withHeaders(headers) });

let passed = 0;
let failed = 0;
let notices = 0;
let acceptedWarnings = 0;
const seen = new Set();
for (const { id, name, fn } of audits) {
  seen.add(id);
  let result;
  try {
    result = await fn();
  } catch (err) {
    // graphql-http throws (rather than reporting a failure) only when the
    // request itself failed: the server is down, or it timed out.
    console.log(`error ${id} ${name}: the audit could not run: ${err?.message ?? err}`);
    failed++;
    continue;
  }
  switch (result.status) {
    case 'ok':
      passed++;
      console.log(`ok ${id} ${name}`);
      break;
    case 'notice':
      notices++;
      console.log(`notice ${id} ${name}: ${result.reason} (optional)${await describe(result.response)}`);
      break;
    case 'warn':
      if (acceptedShoulds.has(id)) {
        acceptedWarnings++;
        console.log(`warn ${id} ${name}: ${result.reason} (accepted: ${acceptedShoulds.get(id)})`);
      } else {
        failed++;
        console.log(`warn ${id} ${name}: ${result.reason} (NOT accepted)${await describe(result.response)}`);
      }
      break;
    default:
      failed++;
      console.log(`error ${id} ${name}: ${result.reason}${await describe(result.response)}`);
  }
}
for (const id of acceptedShoulds.keys()) {
  if (!seen.has(id)) console.log(`note: accepted SHOULD ${id} is not an audit of this graphql-http version`);
}
console.log(
  `audit of ${url}: ${audits.length} audits: ${passed} ok, ${failed} failing (MUSTs and SHOULDs not accepted), ` +
    `${acceptedWarnings} accepted SHOULD failures, ${notices} optional MAY notices`,
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
