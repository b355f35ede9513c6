// A QR code as a PNG without holding up the event loop. The qrcode package's PNG writes every pixel
// as RGBA in JavaScript and compresses it on this thread: a 2048-pixel image took 0.7-0.9 s of the
// thread that answers redirects. Here the image is black and white at one bit a pixel, each row made
// once per module row, and compressed by zlib on libuv's thread pool: the same picture (qrcode's own
// mapping of pixels to modules, its margin) for a fraction of the work on this thread.
import { deflate as deflateCallback, crc32 } from 'node:zlib';
import { promisify } from 'node:util';
import QRCode from 'qrcode';

const deflate = promisify(deflateCallback);
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

/** `text` as a QR code (error correction M), `width` pixels square, a margin of `margin` modules. */
export async function qrPng(text: string, width: number, margin: number): Promise<Buffer> {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const size = modules.size;
  // As qrcode's renderer (lib/renderer/utils.js): a fractional scale, the image exactly `width`.
  const scale = width / (size + margin * 2);
  const scaledMargin = margin * scale;
  const moduleOf = (pixel: number): number => (pixel >= scaledMargin && pixel < width - scaledMargin ? Math.floor((pixel - scaledMargin) / scale) : -1);
  const columns = Array.from({ length: width }, (_, x) => moduleOf(x));
  const rowBytes = 1 + Math.ceil(width / 8);
  const rows = new Map<number, Buffer>();
  /** One scanline (filter byte 0, then 1 bit a pixel, 1 = white) for module row `r` (-1: margin). */
  const rowFor = (r: number): Buffer => {
    let row = rows.get(r);
    if (row !== undefined) return row;
    row = Buffer.alloc(rowBytes, 0xff);
    row[0] = 0;
    for (let x = 0; x < width; x++) {
      const c = columns[x] ?? -1;
      if (r >= 0 && c >= 0 && modules.get(r, c)) row[1 + (x >> 3)] = (row[1 + (x >> 3)] ?? 0) & ~(0x80 >> (x & 7));
    }
    rows.set(r, row);
    return row;
  };
  const raw = Buffer.allocUnsafe(rowBytes * width);
  for (let y = 0; y < width; y++) rowFor(moduleOf(y)).copy(raw, y * rowBytes);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(width, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', await deflate(raw)), chunk('IEND', Buffer.alloc(0))]);
}
