/**
 * A TLS front for a plain-TCP Temporal dev server, standing in for a cluster or Temporal Cloud in tests: an HTTP/2
 * server with its own certificate that requires a client certificate signed by a given CA (mTLS) and, optionally,
 * an API key (`authorization: Bearer …`), and forwards every gRPC call to the dev server. It records, per call, the
 * method, the authorization header and the client certificate's common name.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ProxiedCall {
  path: string;
  authorization: string | undefined;
  /** CN of the client certificate. */
  clientCn: string | undefined;
}

export interface TlsGrpcProxy {
  address: string;
  calls: ProxiedCall[];
  close(): Promise<void>;
}

/** Hop-by-hop headers HTTP/2 forbids forwarding. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

function forwardable(headers: http2.IncomingHttpHeaders, keep: readonly string[]): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || (name.startsWith(':') && !keep.includes(name))) continue;
    out[name] = value;
  }
  return out;
}

/** Starts the proxy on 127.0.0.1 in front of `backend` (host:port, plain HTTP/2). */
export async function startTlsGrpcProxy(options: { backend: string; key: Buffer; cert: Buffer; clientCa: Buffer; apiKey?: string }): Promise<TlsGrpcProxy> {
  const upstream = http2.connect(`http://${options.backend}`);
  upstream.on('error', () => undefined);
  const calls: ProxiedCall[] = [];
  const server = http2.createSecureServer({ key: options.key, cert: options.cert, ca: options.clientCa, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const socket = stream.session?.socket as TLSSocket | undefined;
    const cn = socket?.getPeerCertificate().subject?.CN;
    const authorization = headers.authorization;
    calls.push({ path: String(headers[':path']), authorization, clientCn: typeof cn === 'string' ? cn : undefined });
    if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' }, { endStream: true });
      return;
    }
    const request = upstream.request(forwardable(headers, [':method', ':path']));
    request.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('close', () => {
      if (!request.closed) request.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.pipe(request);
    let trailers: http2.IncomingHttpHeaders = {};
    request.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    request.on('response', (response) => {
      const head = forwardable(response, [':status']);
      if (response['grpc-status'] !== undefined) {
        stream.respond(head, { endStream: true }); // a trailers-only answer (an error)
        return;
      }
      stream.respond(head, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(forwardable(trailers, [])));
      request.pipe(stream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    calls,
    close: async () => {
      upstream.destroy();
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
