// SPDX-License-Identifier: Apache-2.0
// Test proxy in front of the local S3 server that misbehaves on command:
//   node fault_proxy.mjs --target PORT     prints "PORT <n>" once listening (127.0.0.1 only)
// Control (answered by the proxy itself):
//   GET /__fault?status=503&count=N   the next N requests get that status (S3 XML error body)
//   GET /__fault?delay_ms=M&count=N   the next N requests are forwarded after M ms of silence
//   GET /__fault?reset=1&count=N      the next N connections are dropped without an answer
//   ...&method=PUT&path_suffix=S        only requests with that method / a path ending in S (URL-
//                                       encoded) get the fault and count; others pass untouched
//   GET /__stats                      JSON: requests, faulted, auth (scheme per request)
// A bearer token is recorded and removed before forwarding (the local server knows only SigV4).
import http from 'node:http';

const args = process.argv.slice(2);
let target = 0;
for (let i = 0; i < args.length; ++i) if (args[i] === '--target') target = Number(args[++i]);
if (!target) { console.error('fault_proxy.mjs: --target PORT is required'); process.exit(2); }

let fault = null;  // {status|delay_ms|reset, count}
const stats = { requests: 0, faulted: 0, auth: [], bearer_tokens: [] };
const agent = new http.Agent({ keepAlive: true });

const codes = { 500: 'InternalError', 502: 'BadGateway', 503: 'SlowDown', 429: 'TooManyRequests' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__fault') {
    const p = url.searchParams;
    fault = { count: Number(p.get('count') || 1) };
    if (p.has('status')) fault.status = Number(p.get('status'));
    if (p.has('delay_ms')) fault.delay_ms = Number(p.get('delay_ms'));
    if (p.has('reset')) fault.reset = true;
    if (p.has('method')) fault.method = p.get('method');
    if (p.has('path_suffix')) fault.path_suffix = p.get('path_suffix');
    res.end('ok');
    return;
  }
  if (url.pathname === '/__stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  stats.requests++;
  const auth = req.headers['authorization'] || '';
  stats.auth.push(auth.split(' ')[0] || 'none');
  const headers = { ...req.headers };
  if (auth.startsWith('Bearer ')) {
    stats.bearer_tokens.push(auth.slice(7));
    delete headers['authorization'];
  }
  const forward = () => {
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers, agent }, upRes => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', e => { res.destroy(e); });
    req.pipe(up);
  };
  const matches = f => (!f.method || f.method === req.method) &&
    (!f.path_suffix || decodeURIComponent(url.pathname).endsWith(f.path_suffix));
  if (fault && fault.count > 0 && matches(fault)) {
    fault.count--;
    stats.faulted++;
    if (fault.status) {
      req.resume();
      req.on('end', () => {
        const code = codes[fault.status] || 'ServiceUnavailable';
        res.writeHead(fault.status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`);
      });
      return;
    }
    if (fault.reset) { req.socket.destroy(); return; }
    if (fault.delay_ms) { setTimeout(forward, fault.delay_ms); return; }
  }
  forward();
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${server.address().port}\n`));
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
