// The BFF playground: GraphiQL with the explorer plugin, configured by the
// JSON data block the Go handler writes into the page (no inline script,
// so the page's policy can say script-src 'self').
//
// Config (see internal/bff/playground/playground.go):
//   endpoint     where queries are POSTed, as application/json
//   credentials  fetch's credentials mode ("same-origin": the session cookie)
//   headers      request headers shown in every tab's headers editor
//   tabs         [{query, variables}]: the client's documents, one a tab
import 'graphiql/setup-workers/vite';
import { createElement, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './playground.css';

const config = readConfig();
const headersText = Object.keys(config.headers).length > 0 ? JSON.stringify(config.headers, null, 2) : undefined;

/**
 * Sends one GraphQL request as a JSON POST: with the session cookie of
 * the page's own origin (credentials "same-origin"), which the web BFF's
 * CSRF check accepts for a JSON body, and with the headers editor's
 * headers.
 */
async function fetcher(params, opts) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(opts?.headers ?? {})) {
    if (value != null) headers.set(name, String(value));
  }
  headers.set('Content-Type', 'application/json');
  headers.set('Accept', 'application/graphql-response+json, application/json;q=0.9');
  const res = await fetch(config.endpoint, {
    method: 'POST',
    credentials: config.credentials,
    headers,
    body: JSON.stringify(params),
  });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${res.status} ${res.statusText}: ${text.slice(0, 500)}` }] };
  }
}

const tabs = config.tabs.map((tab) => ({
  query: tab.query,
  variables: tab.variables || undefined,
  headers: headersText,
}));

const explorer = explorerPlugin();

createRoot(document.getElementById('graphiql')).render(
  createElement(
    StrictMode,
    null,
    createElement(GraphiQL, {
      fetcher,
      plugins: [explorer],
      defaultTabs: tabs.length > 0 ? tabs : undefined,
      // Also the headers of every new tab, and of the tabs GraphiQL
      // restores after a reload: it keeps no headers in the browser's
      // storage (they may hold tokens).
      defaultHeaders: headersText,
      defaultEditorToolsVisibility: headersText ? 'headers' : undefined,
    }),
  ),
);

function readConfig() {
  const el = document.getElementById('playground-config');
  const raw = el ? JSON.parse(el.textContent) : {};
  return {
    endpoint: raw.endpoint || '/graphql',
    credentials: raw.credentials || 'same-origin',
    headers: raw.headers || {},
    tabs: Array.isArray(raw.tabs) ? raw.tabs : [],
  };
}
