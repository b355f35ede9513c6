// The ceiling for any Node.js service on this machine: a bare node:http server that answers every
// request with a fixed answer and does no work. Benchmarks run it in the same session as what they
// measure and report every figure as a ratio to it.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const mode = process.env.BASELINE_MODE ?? 'redirect';
const body = process.env.BASELINE_BODY ?? '';

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  } else if (mode === 'redirect') {
    res.writeHead(302, { location: 'https://example.com/baseline', 'content-length': '0' });
    res.end();
  } else {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
