// Builds a client's persisted query manifest from its .graphql files, in
// the format of Apollo's persisted query manifests:
//
//   {"format":"apollo-persisted-query-manifest","version":1,
//    "operations":[{"id","name","type","body"}]}
//
// body is the document exactly as Apollo Client sends it: each operation
// goes through a real ApolloClient with an InMemoryCache (which adds
// __typename to every selection set below the root) and is captured at the
// end of its link chain, printed with graphql-js's printer, the way the
// persisted queries link prints it; id is the lowercase hex SHA-256 of
// body, the sha256Hash that link sends. (@apollo/generate-persisted-query-
// manifest does the same.) A server that trusts only the manifest then
// recognises Apollo Client's very first, hash-only request.
//
// A fragments.graphql file, if any, holds shared fragments: each operation
// gets the ones it uses appended, as the Go side (internal/bff/gqldocs) does.
//
// Usage (from anywhere):
//
//   node internal/tools/nodetests/manifest.mjs [DIR] [--check]
//
// DIR defaults to bff-mobile/operations; the manifest is DIR/manifest.json.
// --check writes nothing and exits 1 when the file is not up to date.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Kind, parse, print, visit } from "graphql";
import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { Observable } from "rxjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export const manifestFormat = "apollo-persisted-query-manifest";

export function sha256(text) {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

// readDocuments returns the operation documents of dir by file name (without
// .graphql), each with the fragments it uses from fragments.graphql.
export function readDocuments(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".graphql")).sort();
  const fragments = new Map();
  if (files.includes("fragments.graphql")) {
    for (const def of parse(readFileSync(join(dir, "fragments.graphql"), "utf8")).definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
  }
  const docs = new Map();
  for (const f of files) {
    if (f === "fragments.graphql") continue;
    const doc = parse(readFileSync(join(dir, f), "utf8"));
    docs.set(f.slice(0, -".graphql".length), withFragments(doc, fragments, f));
  }
  return docs;
}

function withFragments(doc, fragments, file) {
  const defined = new Set(doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => d.name.value));
  const added = [];
  const queue = spreadsOf(doc);
  while (queue.length > 0) {
    const name = queue.shift();
    if (defined.has(name)) continue;
    const def = fragments.get(name);
    if (!def) throw new Error(`${file}: unknown fragment ${name}`);
    defined.add(name);
    added.push(def);
    queue.push(...spreadsOf(def));
  }
  return added.length === 0 ? doc : { ...doc, definitions: [...doc.definitions, ...added] };
}

function spreadsOf(node) {
  const names = [];
  visit(node, { FragmentSpread: (s) => void names.push(s.name.value) });
  return names;
}

// asSent returns doc printed as Apollo Client sends it.
async function asSent(doc) {
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!op) throw new Error("no operation");
  let sent;
  const capture = new ApolloLink((operation) => {
    sent = print(operation.query);
    return new Observable((o) => {
      o.next({ data: null });
      o.complete();
    });
  });
  const client = new ApolloClient({ cache: new InMemoryCache(), link: capture });
  try {
    if (op.operation === "mutation") {
      await client.mutate({ mutation: doc, fetchPolicy: "no-cache" });
    } else if (op.operation === "query") {
      await client.query({ query: doc, fetchPolicy: "no-cache" });
    } else {
      throw new Error(`${op.operation} operations are not supported`);
    }
  } finally {
    client.stop();
  }
  if (typeof sent !== "string") throw new Error("Apollo Client sent nothing");
  return { name: op.name?.value, type: op.operation, body: sent };
}

// buildManifest returns the manifest of the documents of dir.
export async function buildManifest(dir) {
  const operations = [];
  for (const [file, doc] of readDocuments(dir)) {
    let sent;
    try {
      sent = await asSent(doc);
    } catch (e) {
      throw new Error(`${file}.graphql: ${e.message}`);
    }
    if (!sent.name) throw new Error(`${file}.graphql: the operation has no name`);
    operations.push({ id: sha256(sent.body), name: sent.name, type: sent.type, body: sent.body });
  }
  operations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { format: manifestFormat, version: 1, operations };
}

async function main(argv) {
  const check = argv.includes("--check");
  const args = argv.filter((a) => !a.startsWith("--"));
  const dir = resolve(args[0] ?? join(repoRoot, "bff-mobile/operations"));
  const out = join(dir, "manifest.json");
  const text = JSON.stringify(await buildManifest(dir), null, 2) + "\n";
  if (check) {
    const have = existsSync(out) ? readFileSync(out, "utf8") : "";
    if (have !== text) {
      console.error(`${out} is not up to date: run node internal/tools/nodetests/manifest.mjs${args[0] ? " " + args[0] : ""}`);
      process.exit(1);
    }
    console.log(`${out} is up to date`);
    return;
  }
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.stack ?? String(e));
    process.exit(1);
  });
}
