// The short URL's QR code as the API draws it (SVG), with PNG and SVG downloads. Fetched with the key
// (an owned link's QR code needs it) and shown from a blob: URL, which the CSP allows for images.
import { useEffect, useState } from 'preact/hooks';
import { explain } from '../api.ts';
import { useSession } from '../state.ts';

export function QrCode({ code }: { code: string }) {
  const { client } = useSession();
  const [svg, setSvg] = useState<string | null>(null);
  const [png, setPng] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let urls: string[] = [];
    let live = true;
    Promise.all([client.qr(code, { format: 'svg' }), client.qr(code, { format: 'png', size: 512 })]).then(
      ([svgBlob, pngBlob]) => {
        urls = [URL.createObjectURL(svgBlob), URL.createObjectURL(pngBlob)];
        if (!live) return urls.forEach((u) => URL.revokeObjectURL(u));
        setSvg(urls[0] ?? null);
        setPng(urls[1] ?? null);
      },
      (err: unknown) => live && setError(explain(err).message),
    );
    return () => {
      live = false;
      urls.forEach((u) => URL.revokeObjectURL(u));
    };
  }, [client, code]);
  if (error !== null) return <p class="error">The QR code could not be loaded: {error}</p>;
  return (
    <figure class="qr">
      {svg === null ? <div class="qr-placeholder" aria-hidden="true" /> : <img src={svg} width={160} height={160} alt={`QR code of the short link ${code}`} />}
      <figcaption>
        <a class="button secondary" href={svg ?? undefined} download={`${code}.svg`} aria-disabled={svg === null}>
          Download SVG
        </a>
        <a class="button secondary" href={png ?? undefined} download={`${code}.png`} aria-disabled={png === null}>
          Download PNG
        </a>
      </figcaption>
    </figure>
  );
}
