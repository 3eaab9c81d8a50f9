import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';

// What stands between the pages and another origin: basic auth when configured, else answering
// only to a loopback name (a site whose name an attacker points at 127.0.0.1 would otherwise be
// this server's own origin: DNS rebinding); a CSRF token on every POST (random, made at start:
// no session to keep); the request's own origin; and --read-only refusing every POST.

export interface Credentials {
  user: string;
  password: string;
}

/** `user:password` (the password may hold colons); undefined for a malformed value. */
export function parseCredentials(value: string): Credentials | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return undefined;
  return { user: value.slice(0, colon), password: value.slice(colon + 1) };
}

export interface Security {
  /** The token every form carries as `_csrf`. */
  csrfToken: string;
  middleware: MiddlewareHandler;
  /** Whether the request may see details (the reason /healthz fails): with auth configured, only with its credentials. */
  authorized(c: Context): boolean;
}

/** Answered without credentials: a load balancer's health check sends none. */
const PUBLIC_PATHS: readonly string[] = ['/healthz'];

/** What a POST's body may be: the pages' forms send nothing else, and anything else would be read as an empty form. */
const FORM_TYPES: readonly string[] = ['application/x-www-form-urlencoded', 'multipart/form-data'];

const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** Whether `name` (an address to bind, or a Host header's name; IPv6 with or without brackets) is this machine's loopback. */
export function isLoopback(name: string): boolean {
  return LOOPBACK_NAMES.includes(name.replace(/^\[(.*)\]$/, '$1'));
}

export function security(options: { credentials?: Credentials | undefined; readOnly: boolean }): Security {
  const csrfToken = randomBytes(32).toString('base64url');
  const authorized = (c: Context) => options.credentials === undefined || isAuthorized(c.req.header('authorization'), options.credentials);
  const middleware: MiddlewareHandler = async (c, next) => {
    if (options.credentials === undefined && !isLoopback(hostnameOf(c.req.header('host')))) {
      return c.text('Refused: without --auth this server answers only to a loopback name (localhost, 127.0.0.1).\n', 403);
    }
    if (!authorized(c) && !PUBLIC_PATHS.includes(c.req.path)) {
      return c.text('Authentication required.\n', 401, { 'WWW-Authenticate': 'Basic realm="usergen", charset="UTF-8"' });
    }
    if (c.req.method === 'POST') {
      if (options.readOnly) return c.text('This server is read-only (--read-only): nothing can be changed here.\n', 403);
      if (!sameOrigin(c)) return c.text('Refused: this form was sent from another site.\n', 403);
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (!FORM_TYPES.includes(type)) {
        return c.text(`Bad request: a form is sent as ${FORM_TYPES.join(' or ')}, not ${type === '' ? 'without a Content-Type' : type}.\n`, 400);
      }
      let body: Awaited<ReturnType<typeof c.req.parseBody>>;
      try {
        body = await c.req.parseBody();
      } catch (error) {
        // A malformed multipart or urlencoded body: the sender's fault, told in one line.
        return c.text(`Bad request: the form's body cannot be read (${oneLine(error)}).\n`, 400);
      }
      if (!equalStrings(typeof body._csrf === 'string' ? body._csrf : '', csrfToken)) {
        return c.text('Refused: the form has no valid CSRF token (reload the page and try again).\n', 403);
      }
    }
    await next();
    return undefined;
  };
  return { csrfToken, middleware, authorized };
}

const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'same-origin'],
  ['Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; form-action 'self'"],
];

/**
 * The headers of every answer, the refusals (400, 401, 403, 413) as much as the pages: the
 * outermost middleware, so that none of those answered before the pages is left without them.
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of SECURITY_HEADERS) c.res.headers.set(name, value);
};

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** The name in a Host header, without its port. */
function hostnameOf(host: string | undefined): string {
  if (host === undefined) return '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
}

function isAuthorized(header: string | undefined, credentials: Credentials): boolean {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = parseCredentials(Buffer.from(match[1]!, 'base64').toString('utf8'));
  // Both compared, whatever the first gives: no timing tells which one was wrong.
  const userOk = equalStrings(given?.user ?? '', credentials.user);
  const passwordOk = equalStrings(given?.password ?? '', credentials.password);
  return given !== undefined && userOk && passwordOk;
}

function equalStrings(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A browser names the page a form came from (Origin, else Referer): it must be this server. */
function sameOrigin(c: Context): boolean {
  const host = c.req.header('host');
  const from = c.req.header('origin') ?? c.req.header('referer');
  if (from === undefined) return true;
  try {
    return host !== undefined && new URL(from).host === host;
  } catch {
    return false;
  }
}
