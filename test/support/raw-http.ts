// A bare HTTP/1.1 client on one TCP connection, for tests that must see what undici hides: pipelined
// requests, `Connection: close`, and whether the server answered or reset.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  /** Set once the connection has ended: 'closed' (the server's FIN) or the socket error's code. */
  ended: string | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiting?.();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.ended ??= err.code ?? err.message;
      this.waiting?.();
    });
    socket.on('close', () => {
      this.ended ??= 'closed';
      this.waiting?.();
    });
  }

  /** Rejects with the socket error's code (e.g. ECONNREFUSED) when no connection is made. */
  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
    });
  }

  /** Sends every request in one write (pipelined when more than one). */
  send(requests: string[]): void {
    this.socket.write(requests.join(''));
  }

  /** The next whole response, or null when the connection ended first. */
  async read(): Promise<RawResponse | null> {
    for (;;) {
      const response = this.take();
      if (response !== null) return response;
      if (this.ended !== null) return null;
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = null;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private take(): RawResponse | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const [statusLine = '', ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? '0');
    if (this.buffer.length < end + 4 + length) return null;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
}

export const rawGet = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
