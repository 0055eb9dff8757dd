// Writes ../dist/VERSIONS.json: the exact version of each package the
// bundle was built from, as installed from package-lock.json. The Go tests
// compare it with package.json, so a stale dist cannot pass unnoticed.
import { readFileSync, writeFileSync } from 'node:fs';

const names = [
  'graphiql',
  '@graphiql/react',
  '@graphiql/plugin-explorer',
  'graphql',
  'monaco-editor',
  'react',
  'react-dom',
  'vite',
];
const versions = {};
for (const name of names) {
  const pkg = JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), 'utf8'));
  versions[name] = pkg.version;
}
writeFileSync(new URL('../dist/VERSIONS.json', import.meta.url), JSON.stringify(versions, null, 2) + '\n');
console.log('dist/VERSIONS.json:', versions);
