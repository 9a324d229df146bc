// A free TCP port on 127.0.0.1 for a server the tests start as a child process (nginx, the
// registry): bound on port 0 and released. Another process may take it before the child binds,
// so callers retry on "address in use".
import { type AddressInfo, createServer } from 'node:net';

export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}
