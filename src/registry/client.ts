/**
 * A client for one repository of an OCI distribution registry (the API of docker-registry, Docker Hub,
 * ghcr…): HTTPS with the system CAs plus `--registry-ca` files, plain HTTP only for hosts named insecure
 * (loopback by default), the Basic and Bearer-token auth challenges, and retries with backoff on 5xx and
 * dropped connections. Bodies are streamed; a retried request re-opens its body from a factory.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import type { Credentials } from './credentials.js';
import { isLoopbackRegistry, type RegistryRef } from './reference.js';

export interface ClientOptions {
  /** Extra registries (host[:port]) allowed over plain HTTP besides loopback ones. */
  insecureRegistries?: string[];
  /** PEM files of extra certificate authorities (--registry-ca). */
  caFiles?: string[];
  credentials?: (registry: string) => Credentials | undefined;
  /** Attempts for a request that failed with a 5xx or a dropped connection (default 4). */
  attempts?: number;
  /** Base delay of the exponential backoff, ms (default 200). */
  backoffMs?: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A factory, so a retried request can send its body again. */
  body?: () => Readable | Buffer;
  /** Statuses that are an answer (not an error); others throw RegistryError. */
  expect: number[];
  /** Registry scope actions for a token: `pull` or `pull,push`. */
  actions?: string;
  /** Absolute URL (an upload location) instead of a path under /v2/. */
  url?: string;
  /** Retries are only safe for requests that can be repeated as a whole. */
  retry?: boolean;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

export class RegistryClient {
  private scheme: 'https' | 'http' | undefined;
  private readonly tokens = new Map<string, string>();
  private basic: string | undefined;
  private readonly agent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: true });

  constructor(
    readonly ref: RegistryRef,
    private readonly options: ClientOptions = {},
  ) {
    const ca: string[] = [...tls.rootCertificates];
    for (const f of SYSTEM_BUNDLES) {
      try {
        ca.push(readFileSync(f, 'utf8'));
        break;
      } catch {
        // Not on this system.
      }
    }
    for (const f of options.caFiles ?? []) ca.push(readFileSync(f, 'utf8'));
    this.agent = new https.Agent({ keepAlive: true, ca });
  }

  private get insecureAllowed(): boolean {
    return (
      isLoopbackRegistry(this.ref.apiHost) ||
      (this.options.insecureRegistries ?? []).includes(this.ref.registry)
    );
  }

  close(): void {
    this.agent.destroy();
    this.httpAgent.destroy();
  }

  /** An upload Location as an absolute URL (registries may answer with a path). */
  resolveUrl(location: string): string {
    return new URL(location, `${this.scheme ?? 'https'}://${this.ref.apiHost}`).toString();
  }

  /** `/v2/<repository>/<suffix>` */
  path(suffix: string): string {
    return `/v2/${this.ref.repository}/${suffix}`;
  }

  async request(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage> {
    const attempts = opts.retry === false ? 1 : (this.options.attempts ?? 4);
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep((this.options.backoffMs ?? 200) * 2 ** (attempt - 1));
      try {
        const res = await this.authorizedRequest(method, path, opts);
        if (res.statusCode !== undefined && res.statusCode >= 500 && attempt + 1 < attempts) {
          res.resume();
          lastError = new RegistryError(
            `${method} ${this.describe(path)}: ${res.statusCode}`,
            res.statusCode,
          );
          continue;
        }
        return await this.check(method, path, res, opts.expect);
      } catch (err) {
        if (err instanceof RegistryError && (err.status === undefined || err.status < 500)) throw err;
        if (!isTransient(err)) throw err;
        lastError = err;
      }
    }
    throw lastError instanceof RegistryError
      ? lastError
      : new RegistryError(`${method} ${this.describe(path)}: ${(lastError as Error).message}`);
  }

  private describe(path: string): string {
    return `${this.ref.apiHost}${path.startsWith('http') ? new URL(path).pathname : path}`;
  }

  private async check(
    method: string,
    path: string,
    res: IncomingMessage,
    expect: number[],
  ): Promise<IncomingMessage> {
    const status = res.statusCode ?? 0;
    if (expect.includes(status)) return res;
    const body = await readBody(res, 64 * 1024).catch(() => '');
    let detail = body.trim();
    try {
      const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
      if (parsed.errors?.length)
        detail = parsed.errors.map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
    } catch {
      // Not JSON: keep the text.
    }
    const what =
      status === 401
        ? `authentication required for ${this.ref.full} (wrong or missing credentials; see rootc login)`
        : status === 403
          ? `access to ${this.ref.full} denied`
          : status === 404
            ? `${this.ref.full}: not found`
            : `unexpected status ${status}`;
    throw new RegistryError(
      `${method} ${this.describe(path)}: ${what}${detail ? ` (${detail.slice(0, 300)})` : ''}`,
      status,
    );
  }

  /** Sends the request, answering one auth challenge (Basic or Bearer) if the registry asks. */
  private async authorizedRequest(
    method: string,
    path: string,
    opts: RequestOptions,
  ): Promise<IncomingMessage> {
    const scopeKey = opts.actions ?? 'pull';
    const first = await this.send(method, path, opts, this.authHeader(scopeKey));
    if (first.statusCode !== 401) return first;
    const challenge = first.headers['www-authenticate'];
    first.resume();
    if (!challenge) return this.send(method, path, opts, this.authHeader(scopeKey));
    const parsed = parseChallenge(challenge);
    const creds = this.options.credentials?.(this.ref.registry);
    if (parsed.scheme === 'basic') {
      if (!creds) return this.send(method, path, opts, undefined);
      this.basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    } else if (parsed.scheme === 'bearer') {
      const token = await this.fetchToken(parsed.params, scopeKey, creds);
      this.tokens.set(scopeKey, token);
    }
    return this.send(method, path, opts, this.authHeader(scopeKey));
  }

  private authHeader(scopeKey: string): string | undefined {
    const token = this.tokens.get(scopeKey);
    return token ? `Bearer ${token}` : this.basic;
  }

  private async fetchToken(
    params: Record<string, string>,
    actions: string,
    creds: Credentials | undefined,
  ): Promise<string> {
    const realm = params.realm;
    if (!realm) throw new RegistryError(`${this.ref.apiHost}: bearer challenge without a realm`);
    const url = new URL(realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', `repository:${this.ref.repository}:${actions}`);
    const headers: Record<string, string> = {};
    if (creds)
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const res = await this.send(
      'GET',
      url.toString(),
      { expect: [200], url: url.toString(), headers },
      undefined,
    );
    if (res.statusCode !== 200) {
      res.resume();
      throw new RegistryError(
        `authentication for ${this.ref.full} failed at ${url.host}: status ${res.statusCode} (wrong or missing credentials; see rootc login)`,
        res.statusCode,
      );
    }
    const body = JSON.parse(await readBody(res, 1 << 20)) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${url.host}: the token answer has no token`);
    return token;
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions,
    auth: string | undefined,
  ): Promise<IncomingMessage> {
    if (!this.scheme) this.scheme = await this.probeScheme();
    const target = opts.url ?? path;
    const url = target.startsWith('http')
      ? new URL(target)
      : new URL(`${this.scheme}://${this.ref.apiHost}${target}`);
    const body = opts.body?.();
    const headers: Record<string, string> = { 'user-agent': 'rootc', ...opts.headers };
    if (auth && !headers.authorization && url.host === this.ref.apiHost) headers.authorization = auth;
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = mod.request(
        url,
        { method, headers, agent: url.protocol === 'https:' ? this.agent : this.httpAgent },
        resolve,
      );
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      }
    });
  }

  /** HTTPS, or plain HTTP for an insecure host whose port does not speak TLS. */
  private async probeScheme(): Promise<'https' | 'http'> {
    const url = `https://${this.ref.apiHost}/v2/`;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = https.request(url, { method: 'GET', agent: this.agent }, (res) => {
          res.resume();
          resolve();
        });
        req.on('error', reject);
        req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
        req.end();
      });
      return 'https';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const tlsProblem = /EPROTO|ECONNRESET|ERR_SSL|wrong version number/i.test(
        `${code} ${(err as Error).message}`,
      );
      if (this.insecureAllowed && tlsProblem) return 'http';
      if (this.insecureAllowed && code === 'ECONNREFUSED')
        throw new RegistryError(`${this.ref.apiHost}: connection refused`);
      throw new RegistryError(`cannot reach ${this.ref.apiHost} over HTTPS: ${(err as Error).message}`);
    }
  }
}

export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  const re = /(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g;
  for (const m of header.slice(space + 1).matchAll(re)) {
    params[(m[1] ?? m[3])!.toLowerCase()] = m[2] ?? m[4] ?? '';
  }
  return { scheme, params };
}

export async function readBody(res: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RegistryError(`response larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isTransient(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return (
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code) ||
    /socket hang up/.test(String(err))
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
