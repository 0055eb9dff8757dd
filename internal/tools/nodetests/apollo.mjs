// Runs the mobile app's documents through Apollo Client 4 with its
// persisted queries link, as the app does, against a running bff-mobile,
// and checks the HTTP exchanges that result.
//
// Usage:
//
//   node internal/tools/nodetests/apollo.mjs URL [--production]
//
// URL is the BFF (http://127.0.0.1:8081, or with /graphql). The BFF must be
// fresh, its persisted query store empty, and its services seeded (Ada
// signs in).
//
// Development (default: automatic persisted queries): each document's first
// request carries only its hash and is answered PERSISTED_QUERY_NOT_FOUND
// (HTTP 200); Apollo retries with the full document, which registers it;
// from then on the hash alone runs it, for this client and for another.
//
// --production (trusted documents): the app's documents run by hash alone
// from the very first request, because manifest.json holds the hashes
// Apollo computes; anything else is refused with
// PERSISTED_QUERY_NOT_ALLOWED, and Apollo does not retry it.
//
// Prints one line per check, then "N passed, M failed"; exits 1 when a check
// failed, 2 on a usage error or a crash.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { parse } from "graphql";
import { readDocuments } from "./manifest.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const opsDir = join(repoRoot, "bff-mobile/operations");
const ada = { email: "ada@example.com", password: "ada123" };

const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

// ---- arguments

const argv = process.argv.slice(2);
const production = argv.includes("--production");
// The app's key: the development key, unless the BFF under test is given
// one of its own (production refuses the published development key).
const apiKey = argv.find((a) => a.startsWith("--api-key="))?.slice("--api-key=".length) ?? "dev-mobile-app-key";
const positional = argv.filter((a) => !a.startsWith("--"));
const unknown = argv.filter((a) => a.startsWith("--") && a !== "--production" && !a.startsWith("--api-key="));
if (positional.length !== 1 || unknown.length > 0) {
  console.error("usage: node apollo.mjs URL [--production] [--api-key=KEY]");
  process.exit(2);
}
const endpoint = (() => {
  const u = new URL(positional[0]);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/graphql";
  return u.toString();
})();

// ---- checks

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
  return ok;
}

// ---- recorded HTTP

// Every request Apollo makes, with the answer: {method, body, status,
// answer}; body and answer are parsed JSON (or the raw text).
const exchanges = [];

async function recordingFetch(input, init = {}) {
  const method = init.method ?? "GET";
  let body = init.body;
  try {
    body = typeof body === "string" ? JSON.parse(body) : body;
  } catch {
    // keep the raw text
  }
  const res = await fetch(input, init);
  const text = await res.clone().text();
  let answer = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // keep the raw text
  }
  exchanges.push({ method, url: String(input), body, status: res.status, answer });
  return res;
}

// exchangesOf runs fn and returns the result (or the error) with the
// exchanges it caused.
async function exchangesOf(fn) {
  const from = exchanges.length;
  let result, error;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  }
  return { result, error, sent: exchanges.slice(from) };
}

// ---- the client

function newClient() {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      new PersistedQueryLink({ sha256 }),
      new HttpLink({ uri: endpoint, fetch: recordingFetch, headers: { "X-API-Key": apiKey } }),
    ]),
  });
}

// run executes a document as the app does, never from the cache.
function run(client, doc, variables, token) {
  const context = token ? { headers: { Authorization: `Bearer ${token}` } } : undefined;
  const isMutation = doc.definitions.some((d) => d.kind === "OperationDefinition" && d.operation === "mutation");
  return isMutation
    ? client.mutate({ mutation: doc, variables, context, fetchPolicy: "no-cache" })
    : client.query({ query: doc, variables, context, fetchPolicy: "no-cache" });
}

// ---- helpers over exchanges

const hashOf = (x) => x.body?.extensions?.persistedQuery?.sha256Hash;
const hasQuery = (x) => typeof x.body?.query === "string";
const codes = (answer) => (Array.isArray(answer?.errors) ? answer.errors.map((e) => e?.extensions?.code ?? e?.message) : []);
const short = (v) => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 300 ? s.slice(0, 300) + "…" : s;
};
function describe(sent) {
  return sent
    .map((x) => `${x.method} ${hasQuery(x) ? "query+hash" : hashOf(x) ? "hash-only" : "no-hash"} → ${x.status} ${short(x.answer)}`)
    .join(" | ");
}

// errorCodes returns the extensions.code of the errors Apollo Client
// reported, whether as GraphQL errors or as a non-2xx answer's body.
function errorCodes(error) {
  if (!error) return [];
  if (Array.isArray(error.errors)) return error.errors.map((e) => e?.extensions?.code);
  if (typeof error.bodyText === "string") {
    try {
      return codes(JSON.parse(error.bodyText));
    } catch {
      return [];
    }
  }
  return [];
}

// isHit reports whether x is a hash-only request answered with data.
const isHit = (x) =>
  x.method === "POST" && !hasQuery(x) && !!hashOf(x) && x.status === 200 && x.answer?.data != null && codes(x.answer).length === 0;

// ---- the documents

const docs = readDocuments(opsDir);
for (const name of ["Login", "Home", "Product"]) {
  if (!docs.has(name)) {
    console.error(`no ${name}.graphql in ${opsDir}`);
    process.exit(2);
  }
}
const manifest = JSON.parse(readFileSync(join(opsDir, "manifest.json"), "utf8"));
const manifestIds = new Map(manifest.operations.map((op) => [op.name, op.id]));

// ---- development: automatic persisted queries

// checkMissThenRegister checks a document's first execution: hash only,
// PERSISTED_QUERY_NOT_FOUND with HTTP 200, then the full document with the
// same hash, answered with data.
function checkMissThenRegister(name, op, { result, error, sent }) {
  const seq = describe(sent);
  check(`${name}: Apollo Client answered without an error`, !error && result?.data != null, error ? String(error) : seq);
  if (!check(`${name}: two requests (miss, then the full document)`, sent.length === 2, seq)) return;
  const [miss, full] = sent;
  check(`${name}: the first request carries the hash only, no query`, !hasQuery(miss) && /^[0-9a-f]{64}$/.test(hashOf(miss) ?? ""), seq);
  check(
    `${name}: it is answered PERSISTED_QUERY_NOT_FOUND with HTTP 200`,
    miss.status === 200 && codes(miss.answer).length === 1 && codes(miss.answer)[0] === "PERSISTED_QUERY_NOT_FOUND",
    seq,
  );
  check(
    `${name}: Apollo retries with the full document and the same hash`,
    hasQuery(full) && hashOf(full) === hashOf(miss) && sha256(full.body.query) === hashOf(miss),
    seq,
  );
  check(`${name}: the retry is answered with data`, full.status === 200 && full.answer?.data != null && codes(full.answer).length === 0, seq);
  check(`${name}: Apollo's hash is manifest.json's id`, hashOf(miss) === manifestIds.get(op), `sent ${hashOf(miss)}, manifest ${manifestIds.get(op)}`);
}

function checkHit(name, what, { result, error, sent }) {
  const seq = describe(sent);
  check(`${name}: ${what}: Apollo Client answered without an error`, !error && result?.data != null, error ? String(error) : seq);
  check(`${name}: ${what}: one hash-only request, a hit with data`, sent.length === 1 && isHit(sent[0]), seq);
}

async function development() {
  const client = newClient();

  const login = await exchangesOf(() => run(client, docs.get("Login"), ada));
  checkMissThenRegister("Login (mutation)", "Login", login);
  const token = login.result?.data?.login?.token;
  if (!check("Login: a token for Ada", typeof token === "string" && token.length > 0, short(login.result?.data))) return;

  const home = await exchangesOf(() => run(client, docs.get("Home"), undefined, token));
  checkMissThenRegister("Home", "Home", home);
  const greeting = home.result?.data?.home?.greeting;
  check("Home: the greeting names Ada", typeof greeting === "string" && greeting.includes("Ada"), short(home.result?.data));
  const featured = home.result?.data?.home?.featured?.[0];
  if (!check("Home: a featured product", featured?.id && featured?.name, short(home.result?.data))) return;

  const product = await exchangesOf(() => run(client, docs.get("Product"), { id: featured.id }));
  checkMissThenRegister("Product", "Product", product);
  const p = product.result?.data?.product;
  check(`Product: ${featured.id} is named ${JSON.stringify(featured.name)}`, p?.id === featured.id && p?.name === featured.name, short(product.result?.data));

  // Later calls: the hash alone, from the same client and from another.
  checkHit("Home", "again", await exchangesOf(() => run(client, docs.get("Home"), undefined, token)));
  const again = await exchangesOf(() => run(client, docs.get("Product"), { id: featured.id }));
  checkHit("Product", "again", again);
  check("Product: again: same name", again.result?.data?.product?.name === featured.name, short(again.result?.data));
  const other = newClient();
  checkHit("Login (mutation)", "from another client", await exchangesOf(() => run(other, docs.get("Login"), ada)));
  const otherProduct = await exchangesOf(() => run(other, docs.get("Product"), { id: featured.id }));
  checkHit("Product", "from another client", otherProduct);
  other.stop();
  client.stop();
}

// ---- production: trusted documents

function checkTrusted(name, op, { result, error, sent }) {
  const seq = describe(sent);
  check(`${name}: Apollo Client answered without an error`, !error && result?.data != null, error ? String(error) : seq);
  check(`${name}: the first request is hash-only and a hit (no miss, no retry)`, sent.length === 1 && isHit(sent[0]), seq);
  const sentHash = sent.length > 0 ? hashOf(sent[0]) : undefined;
  check(`${name}: Apollo's hash is manifest.json's id`, sentHash === manifestIds.get(op), `sent ${sentHash}, manifest ${manifestIds.get(op)}`);
}

function checkRefused(name, { result, error, sent }) {
  const seq = describe(sent);
  check(`${name}: Apollo Client reports an error, no data`, !!error && result === undefined, error ? String(error) : short(result));
  check(`${name}: the error is PERSISTED_QUERY_NOT_ALLOWED`, errorCodes(error).includes("PERSISTED_QUERY_NOT_ALLOWED"), `${error} ${seq}`);
  check(
    `${name}: one hash-only request, refused, not retried`,
    sent.length === 1 && !hasQuery(sent[0]) && codes(sent[0].answer).includes("PERSISTED_QUERY_NOT_ALLOWED"),
    seq,
  );
}

async function productionMode() {
  const client = newClient();

  const login = await exchangesOf(() => run(client, docs.get("Login"), ada));
  checkTrusted("Login (mutation)", "Login", login);
  const token = login.result?.data?.login?.token;
  if (!check("Login: a token for Ada", typeof token === "string" && token.length > 0, short(login.result?.data))) return;

  const home = await exchangesOf(() => run(client, docs.get("Home"), undefined, token));
  checkTrusted("Home", "Home", home);
  const greeting = home.result?.data?.home?.greeting;
  check("Home: the greeting names Ada", typeof greeting === "string" && greeting.includes("Ada"), short(home.result?.data));
  const featured = home.result?.data?.home?.featured?.[0];
  if (!check("Home: a featured product", featured?.id && featured?.name, short(home.result?.data))) return;

  const product = await exchangesOf(() => run(client, docs.get("Product"), { id: featured.id }));
  checkTrusted("Product", "Product", product);
  const p = product.result?.data?.product;
  check(`Product: ${featured.id} is named ${JSON.stringify(featured.name)}`, p?.id === featured.id && p?.name === featured.name, short(product.result?.data));

  // Anything else: an ad-hoc query, a trusted document changed by a field,
  // an ad-hoc mutation.
  checkRefused(
    "an ad-hoc query",
    await exchangesOf(() => run(client, parse(`query AdHoc($id: ID!) { product(id: $id) { id name } }`), { id: featured.id })),
  );
  const changed = readFileSync(join(opsDir, "Product.graphql"), "utf8").replace(/inStock/, "inStock\n    thumbnailUrl");
  checkRefused("Product with one more field", await exchangesOf(() => run(client, parse(changed), { id: featured.id })));
  checkRefused(
    "an ad-hoc mutation",
    await exchangesOf(() => run(client, parse(`mutation { login(email: "ada@example.com", password: "ada123") { token } }`))),
  );
  client.stop();
}

// ---- main

try {
  console.log(`# Apollo Client persisted queries against ${endpoint} (${production ? "production: trusted documents" : "development: automatic persisted queries"})`);
  await (production ? productionMode() : development());
} catch (e) {
  console.error(e?.stack ?? String(e));
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(2);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
