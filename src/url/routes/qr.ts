// GET /urls/{short_code}/qr: the short URL as a QR code, SVG (default) or PNG. Same access rule as
// reading the link, so a QR code reveals nothing its metadata would not.
import { Type } from '@sinclair/typebox';
import QRCode from 'qrcode';
import { HTML_SECURITY_HEADERS, type HttpApp } from '../../core/http-app.ts';
import { InvalidRequest } from '../../core/errors.ts';
import type { LinkService } from '../link-service.ts';
import { qrPng } from '../qr-png.ts';
import { CodeParams, Problem } from './schemas.ts';

export interface QrRouteDeps {
  links: LinkService;
  publicBaseUrl: string;
}

const QrQuery = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('svg'), Type.Literal('png')], { description: 'svg (default) or png' })),
    size: Type.Optional(Type.String({ pattern: '^[0-9]{2,4}$', description: 'PNG width in pixels, 64..2048 (default 256)' })),
  },
  { additionalProperties: false },
);

export function registerQrRoute(app: HttpApp, deps: QrRouteDeps): void {
  app.get(
    '/urls/:short_code/qr',
    {
      schema: {
        summary: 'The short URL as a QR code (SVG or PNG)',
        description: 'Read as the link is (`GET /urls/{short_code}`): an anonymous link without a key, a key\'s own links with it, any link with an admin key.',
        // A key, or none (OpenAPI's empty requirement), as GET /urls/{short_code}.
        security: [{ bearer: [] }, {}],
        params: CodeParams,
        querystring: QrQuery,
        response: {
          200: {
            description: 'The QR code of the short URL; cacheable for a day (`Cache-Control: private, max-age=86400`)',
            content: { 'image/svg+xml': { schema: Type.String() }, 'image/png': { schema: Type.String({ format: 'binary' }) } },
          },
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          429: Problem,
          503: Problem,
        },
      },
    },
    async (request, reply) => {
      const link = await deps.links.getLink(request.params.short_code, request.principal);
      const shortUrl = `${deps.publicBaseUrl}/${link.code}`;
      const width = Number(request.query.size ?? 256);
      // Said, not clamped: size=10 answered a 64-pixel image as if it were what was asked for.
      if (width < 64 || width > 2048) throw new InvalidRequest(`size must be from 64 to 2048 pixels (got ${width}).`);
      // The image never changes for a code, but a deleted code may be reused: cache for a day only.
      // Set only for the image: a refusal (set before the size was checked) was cacheable for a day.
      reply.header('cache-control', 'private, max-age=86400');
      if (request.query.format === 'png') {
        return reply.type('image/png').send(await qrPng(shortUrl, width, 2));
      }
      const svg = await QRCode.toString(shortUrl, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
      return reply
        .type('image/svg+xml')
        .headers({ ...HTML_SECURITY_HEADERS, 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" })
        .send(svg);
    },
  );
}
