import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';

// What stands between the pages and another origin: basic auth when configured, a CSRF token on
// every POST (an HMAC of a secret made at start, so it survives no restart and needs no session),
// the request's own origin, and --read-only refusing every POST.

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
}

export function security(options: { credentials?: Credentials | undefined; readOnly: boolean }): Security {
  const csrfToken = createHmac('sha256', randomBytes(32)).update('usergen forms').digest('base64url');
  const middleware: MiddlewareHandler = async (c, next) => {
    if (options.credentials && !authorized(c.req.header('authorization'), options.credentials)) {
      return c.text('Authentication required.\n', 401, { 'WWW-Authenticate': 'Basic realm="usergen", charset="UTF-8"' });
    }
    if (c.req.method === 'POST') {
      if (options.readOnly) return c.text('This server is read-only (--read-only): nothing can be changed here.\n', 403);
      if (!sameOrigin(c)) return c.text('Refused: this form was sent from another site.\n', 403);
      const body = await c.req.parseBody();
      if (!equalStrings(typeof body._csrf === 'string' ? body._csrf : '', csrfToken)) {
        return c.text('Refused: the form has no valid CSRF token (reload the page and try again).\n', 403);
      }
    }
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    c.header('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
    return undefined;
  };
  return { csrfToken, middleware };
}

function authorized(header: string | undefined, credentials: Credentials): boolean {
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
