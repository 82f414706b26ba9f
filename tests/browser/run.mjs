// Runs browser tests against a running switchboard (started by tests/browser.rs).
// Usage: node run.mjs <file.test.mjs>...   Env: SWITCHBOARD_URL, HOST_PORT, OTHER_PORT, ARTIFACTS.
// Each test file exports `default async function run(ctx)` and throws on failure. ctx has:
//   browser     a Playwright Browser (Debian's /usr/bin/chromium)
//   baseUrl     the server, e.g. http://127.0.0.1:41234
//   hostUrl     a host page of another origin embedding the widget (allowed by the line)
//   otherUrl    the same page on an origin the line does not allow
//   artifacts   a folder for screenshots;  log(...)  progress output
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const baseUrl = process.env.SWITCHBOARD_URL;
const artifacts = process.env.ARTIFACTS || path.join(here, 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

// A customer's site: another origin, embedding the widget with the one documented tag.
function hostPage(line, lang) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme Shop</title>
<style>body{font-family:Arial,sans-serif;margin:40px;background:#eef2f5}button,div{all:unset}</style></head>
<body><h1>Acme Shop</h1><p>A host page on another origin.</p>
<script src="${baseUrl}/widget.js" data-line="${line}"${lang ? ` data-lang="${lang}"` : ''} async></script></body></html>`;
}

function serveHost(port) {
  const server = http.createServer((req, res) => {
    const query = new URL(req.url, 'http://x').searchParams;
    const line = (query.get('line') || 'support').replace(/[^a-z0-9_-]/gi, '');
    const lang = (query.get('lang') || '').replace(/[^a-z]/gi, '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(hostPage(line, lang));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const hosts = [await serveHost(Number(process.env.HOST_PORT)), await serveHost(Number(process.env.OTHER_PORT))];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
});
let failed = 0;
for (const file of process.argv.slice(2)) {
  const name = path.basename(file);
  const started = Date.now();
  const log = (...args) => console.log(`[${name}]`, ...args);
  try {
    const test = await import(pathToFileURL(path.resolve(here, file)).href);
    await test.default({
      browser,
      baseUrl,
      hostUrl: `http://127.0.0.1:${process.env.HOST_PORT}/`,
      otherUrl: `http://127.0.0.1:${process.env.OTHER_PORT}/`,
      artifacts,
      log,
    });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
await browser.close();
for (const h of hosts) h.close();
console.log(`screenshots: ${artifacts}`);
process.exit(failed ? 1 : 0);
