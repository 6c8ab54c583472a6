/**
 * THE options table: every option of `start-server`, declared once.
 * The yargs parser, the zod config schema, `--help` and docs/options.md are all
 * derived from it (test/unit/config.test.ts fails when docs drift).
 * Meanings follow mod_wsgi-express unless the docs line says otherwise.
 */
import type { z } from 'zod';
import { DEFAULT_ERROR_LOG_FORMAT } from '../logging/error-format.js';
import { HEADER_REGISTRY, lookupHeader } from '../pipeline/forwarded-headers.js';
import { parseProxyBlock } from '../net/trusted-proxies.js';
import { groupAccount, userAccount } from './accounts.js';
import { choice, choiceIgnoringCase, errorLogFormat, fileName, flag, hostName, integer, list, listOf, logFormat, matchPairs, mebibytes, pairs, rotateInterval, seconds, text, upstreamPairs } from './schema-helpers.js';

export type Section =
  | 'Application'
  | 'Static files'
  | 'Network'
  | 'HTTPS and HTTP/2'
  | 'Host names and proxies'
  | 'Request limits'
  | 'Processes and threads'
  | 'Timeouts'
  | 'Recycling'
  | 'Reloading'
  | 'Proxying'
  | 'Environment'
  | 'Access control'
  | 'Logging'
  | 'Status and deployment'
  | 'Debugging';

/** How the CLI tokenises the option; validation is the schema's job. */
export type Kind = 'string' | 'number' | 'boolean' | 'list' | 'pairs';

export interface OptionSpec {
  /** Config key, camelCase; the flag is its kebab-case form. */
  readonly key: string;
  readonly flag: string;
  /** Other names of the flag (mod_wsgi-express's hidden aliases, such as --ssl-port). */
  readonly aliases?: readonly string[];
  readonly section: Section;
  readonly kind: Kind;
  readonly help: string;
  readonly docs?: string;
  /** Static default; computed defaults (depending on other values) live in resolve.ts. */
  readonly default?: unknown;
  /** How the default reads in --help and docs when it is computed or absent. */
  readonly defaultText?: string;
  readonly valueName?: string;
  readonly schema: z.ZodType;
  readonly readBy: 'master' | 'worker' | 'both';
}

export const SECTIONS: readonly Section[] = [
  'Application',
  'Static files',
  'Network',
  'HTTPS and HTTP/2',
  'Host names and proxies',
  'Request limits',
  'Processes and threads',
  'Timeouts',
  'Recycling',
  'Reloading',
  'Proxying',
  'Environment',
  'Access control',
  'Logging',
  'Status and deployment',
  'Debugging',
];

const INTERFACES = ['auto', 'tsgi', 'fetch', 'node'] as const;
const APPLICATION_TYPES = ['script', 'module'] as const;
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
const AUTH_TYPES = ['Basic', 'Digest'] as const;
const LOG_FORMATS = ['text', 'json'] as const;

export const OPTIONS = [
  {
    key: 'config', flag: 'config', section: 'Application', kind: 'string', readBy: 'master',
    valueName: 'FILE',
    help: 'Read options (and more applications) from FILE: JSON, YAML, or a .ts/.js module.',
    docs: 'Keys are the options\' names as on the command line without the leading `--` (`mount-point`, `processes`; camelCase such as `mountPoint` is accepted too). Repeatable options are lists (`passenv: [HOME, LANG]`), and `setenv` is an object of NAME: VALUE. The top level may give the application as `script` (or `entry-point`). A module (`.ts`, `.mts`, `.js`, `.mjs`, `.cjs`) exports the object (or a function returning it, or a promise) as its default export, typed with `defineConfig` from `tsgi-express`. Relative paths in the file are relative to the file. A flag on the command line replaces the file\'s value for its key, except `--setenv` and `--passenv`, which add to the file\'s (the command line winning on a clash); a SCRIPT on the command line replaces the file\'s. The file is checked by the same rules as the command line, and an error names the file, the key path and the reason (`app.yaml: processes must be at least 1 (got 0)`); a file that does not parse names the line and column. Not in mod_wsgi-express, whose configuration is the command line (or the Apache configuration it writes); docs/applications.md.',
    schema: text('a file path'),
  },
  {
    key: 'entryPoint', flag: 'entry-point', section: 'Application', kind: 'string', readBy: 'both',
    valueName: 'PATH|MODULE', defaultText: 'the positional SCRIPT',
    help: 'The application script (or module name with --application-type module); long form of SCRIPT.',
    docs: 'Wins over the positional SCRIPT when both are given. A script path is made absolute from the current directory.',
    schema: text('a file path or module name'),
  },
  {
    key: 'applicationType', flag: 'application-type', section: 'Application', kind: 'string', readBy: 'both',
    valueName: 'TYPE', default: 'script',
    help: 'How the entry point is found: a script file, or a module name resolved like `import`.',
    docs: '`module` resolves a package or package subpath (`@acme/web/server`) from --working-directory the way Node resolves `import`; the file it resolves to is what reloading watches.',
    schema: choice(APPLICATION_TYPES),
  },
  {
    key: 'callableObject', flag: 'callable-object', section: 'Application', kind: 'string', readBy: 'worker',
    valueName: 'NAME', default: 'application',
    help: 'The export holding the TSGI application.',
    schema: text('an export name'),
  },
  {
    key: 'interface', flag: 'interface', section: 'Application', kind: 'string', readBy: 'worker',
    valueName: 'KIND', default: 'auto',
    help: 'How the loaded module is called: tsgi, fetch, node, or auto to detect it.',
    docs: '`auto` tries, in order: the --callable-object export as TSGI; a default export with a `fetch` method (Hono, `export default { fetch }`); a default export that is a function, as a Node `(req, res)` handler (Express, Connect); a Koa app (its `callback()`). An Express, Hono or Koa app exported under the --callable-object name is served through its own interface, not called as TSGI. The banner\'s Application line shows the interface chosen.',
    schema: choice(INTERFACES),
  },
  {
    key: 'mountPoint', flag: 'mount-point', section: 'Application', kind: 'string', readBy: 'worker',
    valueName: 'URL-PATH', default: '/',
    help: 'The URL path the application is mounted at (its SCRIPT_NAME).',
    docs: 'Requests outside the mount point get 404 without reaching the application. A missing leading `/` is added.',
    schema: text('a URL path'),
  },
  {
    key: 'mountApp', flag: 'mount-app', section: 'Application', kind: 'pairs', readBy: 'master',
    valueName: 'URL-PATH SCRIPT', default: [],
    help: 'Mount another application SCRIPT at URL-PATH, beside the main one (repeatable).',
    docs: 'As mod_wsgi\'s `WSGIScriptAlias` given more than once. The most specific mount wins: with the main app at `/` and another at `/api`, `/api/x` goes to the second; each app sees its own mount as `SCRIPT_NAME` (node apps get `req.url` below it and `req.baseUrl`, fetch apps the full URL). Each app runs in a process group of its own, as each site in its own mod_wsgi daemon process group: its own worker processes, sized like the main app\'s (--processes, --threads) unless its entry in a --config file\'s `apps` list says otherwise, sharing no memory, globals or `process.env` with the others; the main app\'s workers accept every connection and pass each request for another app to its group over a unix socket (docs/applications.md, Process groups). --interface and --callable-object are the main app\'s: a mounted app is detected (`auto`) and called through its `application` export unless an entry of a --config file\'s `apps` list says otherwise. --setenv and --passenv reach every app\'s environ; an `apps` entry\'s own `setenv` reaches that app\'s only, winning on a clash (docs/applications.md). A change to an app\'s script reloads its group\'s workers.',
    schema: pairs('URL-PATH SCRIPT'),
  },
  {
    key: 'mountAppMatch', flag: 'mount-app-match', section: 'Application', kind: 'pairs', readBy: 'both',
    valueName: 'REGEX SCRIPT-TEMPLATE', default: [],
    help: 'Mass hosting: a path REGEX matches gets the app SCRIPT-TEMPLATE names, with $1... filled in, started on demand (repeatable).',
    docs: 'As mod_wsgi\'s `WSGIScriptAliasMatch`: `--mount-app-match \'^/([^/]+)\' \'/srv/sites/$1/app.ts\'` serves `/blog/x` from `/srv/sites/blog/app.ts`, mounted at the matched prefix (`SCRIPT_NAME` `/blog`, `PATH_INFO` `/x`), when that file exists; a site directory added later is served without a restart, a removed one is not (its group is stopped). The REGEX must start with `^` (what it matches becomes `SCRIPT_NAME`, a prefix of the path) and its match must end at a `/` or the end of the path; it sees the decoded path. The template must use at least one of its captures (`$1` to `$9`); a relative one is relative to the current directory (in a --config file, to the file). The expanded script must lie inside the template\'s fixed directory (the part before its first `$`): a capture that is empty or holds `.` or `..` (an encoded slash included) names no script. **Precedence**: the more specific mount wins, a pattern\'s matched prefix counting as a mount: with the main app at `/` and `--mount-app /api`, `/api/x` goes to `/api`\'s app and `/blog/x` to the pattern\'s; on a tie the explicit mount wins, and a path whose expanded script does not exist goes to the explicit mount that holds it, else 404. Several patterns: the first that matches the path (with safe captures) decides, and the ones after it are not tried even when its script does not exist. Each pattern app runs in a process group of its own (--match-processes workers, the main app\'s --threads), started by its first request, which waits for it (up to --startup-timeout, then 503); stopped after --match-idle-timeout without requests; at most --max-match-apps at once. A pattern app that fails to load answers 500 (the reason is in the error log) and is tried again on a request 1 s later, then 2, 4 ... up to 30 s after each further failure, or at once when its script changes. Not with --debug-mode (docs/applications.md, Mass hosting).',
    schema: matchPairs('a REGEX and a SCRIPT-TEMPLATE'),
  },
  {
    key: 'matchProcesses', flag: 'match-processes', section: 'Application', kind: 'number', readBy: 'master',
    valueName: 'NUMBER', default: 1,
    help: 'Worker processes of each --mount-app-match application.',
    schema: integer(1, 64),
  },
  {
    key: 'matchIdleTimeout', flag: 'match-idle-timeout', section: 'Application', kind: 'number', readBy: 'master',
    valueName: 'SECONDS', default: 300,
    help: 'A --mount-app-match application without requests for this long is stopped (0: never).',
    docs: 'Its process group\'s workers exit once no request has been passed to it for this long and none is in flight; the next request starts it again. Checked once a second.',
    schema: seconds(),
  },
  {
    key: 'maxMatchApps', flag: 'max-match-apps', section: 'Application', kind: 'number', readBy: 'master',
    valueName: 'NUMBER', default: 50,
    help: 'At most this many --mount-app-match applications run at once.',
    docs: 'At the cap, a request for another one stops the least recently used idle one (none in flight) to make room; when none is idle it gets 503 with `Retry-After`.',
    schema: integer(1, 10000),
  },
  {
    key: 'mapHeadToGet', flag: 'map-head-to-get', section: 'Application', kind: 'string', readBy: 'worker',
    valueName: 'Off|On|Auto', default: 'auto', defaultText: 'Auto',
    help: 'Whether the application gets GET for a HEAD request: Off, On, or Auto.',
    docs: 'As mod_wsgi\'s `WSGIMapHEADToGET`. `On`: a HEAD request reaches the application as GET, so it builds the whole response (its headers, `Content-Length` included, are those of the GET); the client still gets no body, and the access log shows HEAD. `Off`: the application sees HEAD. `Auto` maps only when a response filter must see the whole body: with --compress-responses (as mod_deflate in mod_wsgi-express), otherwise it behaves as `Off`. Any case is accepted.',
    schema: choiceIgnoringCase(['off', 'on', 'auto'], 'Off, On, Auto'),
  },
  {
    key: 'keepMountPrefix', flag: 'keep-mount-prefix', section: 'Application', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Node apps see the full URL, mount point included, in req.url.',
    docs: 'For apps that know their own base path (SvelteKit `paths.base`, Astro `base`, Next `basePath`, Express routes written with the prefix). Without it a node app sees `req.url` below --mount-point, as an Express sub-app does. Fetch apps always see the full public URL; TSGI apps get `SCRIPT_NAME` and `PATH_INFO` either way. Not in mod_wsgi-express.',
    schema: flag(),
  },
  {
    key: 'workingDirectory', flag: 'working-directory', section: 'Application', kind: 'string', readBy: 'both',
    valueName: 'DIR', defaultText: "the script's directory (the current directory with --application-type module)",
    help: 'The directory the workers run in and resolve modules from.',
    docs: 'mod_wsgi-express defaults to the directory the command runs in; tsgi-express to the script\'s, so relative paths in an app mean the same wherever it is started from.',
    schema: text('a directory'),
  },
  {
    key: 'serverRoot', flag: 'server-root', section: 'Application', kind: 'string', readBy: 'master',
    valueName: 'DIR', defaultText: '$TMPDIR/tsgi-express-HOST:PORT:UID',
    help: 'The directory for files the server writes (the pid file, unless --pid-file says otherwise).',
    docs: 'Created if missing, and then removed on exit if it is empty (mod_wsgi-express keeps its own, which holds the generated Apache configuration). Logs go to the terminal (stderr and stdout), not here, unless --rotate-logs or --startup-log are given without --log-directory.',
    schema: text('a directory'),
  },
  {
    key: 'documentRoot', flag: 'document-root', section: 'Static files', kind: 'string', readBy: 'worker',
    valueName: 'DIR', defaultText: 'none (every request goes to the application)',
    help: 'Serve a request from DIR when its path names a file there; everything else goes to the application.',
    docs: 'The whole URL space maps onto DIR, also outside --mount-point: with `--mount-point /app` the application keeps `/app` and the rest of the site comes from DIR (404 where DIR has nothing). Files are served with ETag and Last-Modified, answer conditional and Range requests (several ranges as multipart/byteranges), and only to GET and HEAD (405 otherwise). Paths that could leave DIR are never looked up: `..` is resolved first (400 above the root), and a path holding `%2F`, `%5C` or a backslash is 404 for the whole site, the application included (Apache\'s AllowEncodedSlashes Off); dotfiles and dot-directories are 404, except under `/.well-known/`; symlinks leading out of DIR are 404 unless --follow-symlinks. mod_wsgi-express defaults to an empty `SERVER_ROOT/htdocs`; tsgi-express has no default document root (docs/static-files.md says why; a request that names no file then costs nothing): pass `--document-root SERVER_ROOT/htdocs` for that behaviour. A DIR that does not exist or cannot be read stops the server at start (exit 2); started as root with --user or --group, DIR (and every --url-alias target, --error-document file and --mime-types file) must be readable by the user the workers run as.',
    schema: text('a directory'),
  },
  {
    key: 'urlAlias', flag: 'url-alias', section: 'Static files', kind: 'pairs', readBy: 'worker',
    valueName: 'URL PATH', default: [],
    help: 'Serve URL from PATH: a file (that URL) or a directory (URL is its prefix) (repeatable).',
    docs: 'As Apache\'s `Alias`: URL matches whole path segments (`/media` matches `/media` and `/media/x`, not `/mediax`); the longest URL wins. An alias is served by the server, never the application: what it does not find is 404. Directories under an alias follow --directory-index and --directory-listing, and are 403 without them.',
    schema: pairs('a URL and a PATH'),
  },
  {
    key: 'directoryIndex', flag: 'directory-index', section: 'Static files', kind: 'string', readBy: 'worker',
    valueName: 'NAME',
    help: 'A directory URL serves the file NAME in it (index.html, say); directories no longer reach the application.',
    docs: 'As mod_wsgi-express: once given, every existing directory of the document root is the server\'s: `/dir` redirects (301) to `/dir/`, which serves `dir/NAME`, else the listing (--directory-listing), else 403. Directories that do not exist still go to the application.',
    schema: text('a file name'),
  },
  {
    key: 'directoryListing', flag: 'directory-listing', section: 'Static files', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Show an HTML listing of a directory that has no index file.',
    docs: 'Like Apache\'s mod_autoindex: names (escaped), last-modified dates and sizes, sorted by name, or by the column clicked (`?C=N|M|S;O=A|D`). Dotfiles are not listed. Unlike mod_wsgi-express, where directories still go to the application unless --directory-index is given too, a listing asked for is shown.',
    schema: flag(),
  },
  {
    key: 'errorDocument', flag: 'error-document', section: 'Static files', kind: 'pairs', readBy: 'worker',
    valueName: 'STATUS FILE|URL', default: [],
    help: 'The body of the error STATUS the server answers: a file, or a URL on this site (repeatable).',
    docs: 'As Apache\'s `ErrorDocument`, for the errors the server itself answers (404, 403, 405, 413, 503 ...), including those it writes before a request exists (400, 414 and 431 from the HTTP parser, the 408 of --header-timeout, the 405 for CONNECT, the 400 for a PROXY header from an untrusted peer), and, with --error-override, the application\'s. An absolute path to an existing file is sent as it is (read when each worker starts); any other value starting with `/` is a URL on this site, served internally from the document root or an alias with the original status (the built-in page when it names no file); an `http(s)://` URL is a 302 redirect to it. For the answers written before a request exists, a file on the site is read whole when needed (up to 1 MiB; a larger one gets the built-in page). STATUS is 400-599. In debug mode a 500 shows the stack trace instead.',
    schema: pairs('a STATUS and a FILE or URL'),
  },
  {
    key: 'errorOverride', flag: 'error-override', section: 'Static files', kind: 'boolean', readBy: 'worker',
    default: false,
    help: "Replace the body of the application's error responses (status 400 or more) with the server's error page.",
    docs: 'mod_wsgi\'s `WSGIErrorOverride`: the status is kept, the body is the --error-document for it or the built-in page; of the application\'s headers only WWW-Authenticate, Proxy-Authenticate, Allow, Retry-After and Content-Range are kept.',
    schema: flag(),
  },
  {
    key: 'mimeTypes', flag: 'mime-types', section: 'Static files', kind: 'string', readBy: 'worker',
    valueName: 'FILE', defaultText: 'the mime-db database',
    help: 'An Apache mime.types file whose extensions override the built-in MIME database.',
    docs: 'Each line is a media type followed by the extensions that have it. Extensions it does not name keep the built-in type (mime-db, as Express uses); unknown extensions are `application/octet-stream`; text types get `charset=utf-8`.',
    schema: text('a file path'),
  },
  {
    key: 'compressResponses', flag: 'compress-responses', section: 'Static files', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Compress text responses (static and the application\'s) with brotli or gzip, as Accept-Encoding allows.',
    docs: 'The types mod_wsgi-express compresses (text/plain, text/html, text/xml, text/css, text/javascript, application/xhtml+xml, application/javascript, application/json) and image/svg+xml, streamed, with `Vary: Accept-Encoding`. Not for bodies known to be under 1 KiB, Range (206) responses, bodies that already have a Content-Encoding, or `Cache-Control: no-transform`. Beyond mod_wsgi-express, a static file with a sibling `FILE.br` or `FILE.gz` at least as new is answered with the sibling instead of being compressed on the fly. Do not enable it behind a proxy that compresses.',
    schema: flag(),
  },
  {
    key: 'followSymlinks', flag: 'follow-symlinks', section: 'Static files', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Serve files that symlinks in the document root or an alias lead to, wherever they are.',
    docs: 'Without it, a symlink is followed only when what it leads to is inside the same root; one leading out is 404.',
    schema: flag(),
  },
  {
    key: 'host', flag: 'host', section: 'Network', kind: 'string', readBy: 'both',
    valueName: 'IP', defaultText: 'all interfaces',
    help: 'The address to listen on.',
    docs: 'As in mod_wsgi-express the server names itself `localhost` in the banner and the server root when no host is given, and the given address otherwise.',
    schema: text('an IP address or host name'),
  },
  {
    key: 'port', flag: 'port', section: 'Network', kind: 'number', readBy: 'both',
    valueName: 'NUMBER', default: 8000,
    help: 'The HTTP port to listen on (0 picks a free port).',
    schema: integer(0, 65535),
  },
  {
    key: 'httpsPort', flag: 'https-port', aliases: ['ssl-port'], section: 'HTTPS and HTTP/2', kind: 'number', readBy: 'both',
    valueName: 'NUMBER',
    help: 'Also serve HTTPS on this port (0 picks a free port); --port keeps serving HTTP.',
    docs: '`--ssl-port` is the same option, as in mod_wsgi-express. Unlike mod_wsgi-express, --server-name is not required: that requirement comes from Apache\'s name-based virtual hosts, which tsgi-express does not use. The certificate comes from --ssl-certificate-file and --ssl-certificate-key-file (or --ssl-certificate); without them a development certificate is generated in the server root (docs/https.md). TLS 1.2 is the lowest version accepted, renegotiation is refused and a TLS handshake must finish within 15 seconds.',
    schema: integer(0, 65535),
  },
  {
    key: 'sslCertificateFile', flag: 'ssl-certificate-file', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'both',
    valueName: 'PATH',
    help: 'The server certificate (PEM), for --https-port.',
    docs: 'RSA or ECDSA. The file may hold the intermediate certificates after the server\'s own, or they can be given with --ssl-certificate-chain-file. A certificate that has expired is served with a warning; one that does not match the key stops the server before it starts.',
    schema: text('a file path'),
  },
  {
    key: 'sslCertificateKeyFile', flag: 'ssl-certificate-key-file', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'both',
    valueName: 'PATH',
    help: 'The private key of the server certificate (PEM, unencrypted).',
    schema: text('a file path'),
  },
  {
    key: 'sslCertificate', flag: 'ssl-certificate', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'master',
    valueName: 'PREFIX',
    help: 'Shorthand for --ssl-certificate-file PREFIX.crt --ssl-certificate-key-file PREFIX.key.',
    docs: 'Wins over those two options when both are given, as in mod_wsgi-express.',
    schema: text('a file path prefix'),
  },
  {
    key: 'sslCertificateChainFile', flag: 'ssl-certificate-chain-file', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'both',
    valueName: 'PATH',
    help: 'Intermediate CA certificates (PEM) sent after the server certificate.',
    schema: text('a file path'),
  },
  {
    key: 'sslCaCertificateFile', flag: 'ssl-ca-certificate-file', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'both',
    valueName: 'PATH',
    help: 'The CA (PEM) that client certificates must verify against; turns on client certificates.',
    docs: 'Every HTTPS client is asked for a certificate during the handshake; under the --ssl-verify-client prefixes (by default `/`, the whole site, as in mod_wsgi-express) a request without one that verifies against this CA gets 403 and never reaches the application. Elsewhere a client may present none. See docs/https.md, "Client certificates".',
    schema: text('a file path'),
  },
  {
    key: 'sslVerifyClient', flag: 'ssl-verify-client', section: 'HTTPS and HTTP/2', kind: 'list', readBy: 'worker',
    valueName: 'URL-PATH', default: [],
    help: 'Require a verified client certificate under this URL path prefix (repeatable; needs --ssl-ca-certificate-file).',
    docs: 'Prefixes match whole path segments (`/private` covers `/private` and `/private/x`, not `/privateer`), against the path after percent-decoding and dot-segment removal, mount point included, as Apache\'s `<Location>` does. A request on the plain HTTP port under a prefix gets 403 too: it cannot carry a client certificate (mod_wsgi-express lets it through to the application).',
    schema: list('a URL path'),
  },
  {
    key: 'sslEnvironment', flag: 'ssl-environment', section: 'HTTPS and HTTP/2', kind: 'boolean', readBy: 'worker',
    default: false,
    help: "Add mod_ssl's SSL_* variables (protocol, cipher, client certificate) to the environ of HTTPS requests.",
    docs: 'As `SSLOptions +StdEnvVars +ExportCertData`: `SSL_PROTOCOL`, `SSL_CIPHER`, `SSL_CIPHER_USEKEYSIZE`, `SSL_SERVER_S_DN`, `SSL_SERVER_I_DN`, `SSL_CLIENT_VERIFY` (`SUCCESS`, `NONE` or `FAILED:reason`) and, when the client sent a certificate, `SSL_CLIENT_S_DN`, `SSL_CLIENT_I_DN`, `SSL_CLIENT_M_SERIAL`, `SSL_CLIENT_V_START`, `SSL_CLIENT_V_END`, `SSL_CLIENT_CERT`, in mod_ssl\'s formats (distinguished names as RFC 2253). Never on plain HTTP requests. The node interface sees them in `req.environ`.',
    schema: flag(),
  },
  {
    key: 'httpsOnly', flag: 'https-only', section: 'HTTPS and HTTP/2', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Redirect every request on the plain HTTP port to the same path and query on HTTPS (302).',
    docs: '302, as mod_wsgi-express does, to --server-name when given (else the host name the request asked for) and the HTTPS port (left out when it is 443); the parent domain of a `www.` --server-name gets the same 302 instead of its 301 to http. A host the server does not serve gets 403, not a redirect. A request a trusted proxy says came over HTTPS (--trust-proxy-header) is not redirected; with --allow-localhost a loopback client is served over plain HTTP, as mod_wsgi-express does. Needs --https-port.',
    schema: flag(),
  },
  {
    key: 'hstsPolicy', flag: 'hsts-policy', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'worker',
    valueName: 'VALUE',
    help: 'Send `Strict-Transport-Security: VALUE` on every HTTPS response, e.g. `max-age=31536000; includeSubDomains`.',
    docs: 'Only on responses to requests that came over TLS, to this server or (--proxy-protocol) to the proxy in front; browsers ignore it over plain HTTP. mod_wsgi-express sends it only together with --https-only; tsgi-express whenever it is given with --https-port.',
    schema: text('a Strict-Transport-Security value').refine((v) => !/[\r\n\0]/.test(v), { error: 'must be one line (no CR, LF or NUL)' }),
  },
  {
    key: 'sslMinVersion', flag: 'ssl-min-version', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'worker',
    valueName: 'VERSION', default: 'TLSv1.2',
    help: 'The lowest TLS version accepted: TLSv1.2 or TLSv1.3.',
    schema: choice(['TLSv1.2', 'TLSv1.3'] as const),
  },
  {
    key: 'sslCiphers', flag: 'ssl-ciphers', section: 'HTTPS and HTTP/2', kind: 'string', readBy: 'worker',
    valueName: 'LIST', defaultText: "Node's default cipher list",
    help: 'The TLS cipher suites offered, as an OpenSSL cipher list (TLS 1.3 suites by their TLS_ names).',
    docs: 'Checked with OpenSSL at start-up: a list that names no cipher it knows stops the server (exit 2). Example: `ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256`.',
    schema: text('an OpenSSL cipher list'),
  },
  {
    key: 'http2', flag: 'http2', section: 'HTTPS and HTTP/2', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Also speak HTTP/2: through ALPN on the HTTPS port, and with prior knowledge (h2c) on the plain port.',
    docs: 'As mod_wsgi-express\'s `Protocols h2 h2c http/1.1`: on the HTTPS port a client that offers `h2` in ALPN gets HTTP/2 and any other gets HTTP/1.1; on the plain port a connection that opens with the HTTP/2 preface (`curl --http2-prior-knowledge`, h2load, a proxy\'s h2c upstream) gets HTTP/2 and any other HTTP/1.1. The `Upgrade: h2c` dance is not offered (browsers never use it, and RFC 9113 deprecates it). The application sees the same request either way; `SERVER_PROTOCOL` is `HTTP/2`. See docs/https.md.',
    schema: flag(),
  },
  {
    key: 'serverName', flag: 'server-name', section: 'Host names and proxies', kind: 'string', readBy: 'both',
    valueName: 'HOSTNAME',
    help: 'The host name the server answers to; other Host names get 403.',
    docs: 'As in mod_wsgi-express: a request whose Host (ignoring case and port) is neither this name nor a --server-alias gets `403 Forbidden` and never reaches the application. A name starting with `www.` also answers its parent domain (`www.example.com` answers `example.com`) with a `301` redirect to the same path and query on the `www.` name (tsgi-express leaves out the port when it is the scheme\'s default; mod_wsgi-express always writes it). `SERVER_NAME` is this name, and it is the name in the banner\'s URL and in `%v`. Behind a trusted proxy, the host and client the proxy rules give are the ones checked (docs/proxies.md).',
    schema: hostName(false),
  },
  {
    key: 'serverAlias', flag: 'server-alias', section: 'Host names and proxies', kind: 'list', readBy: 'worker',
    valueName: 'HOSTNAME', default: [],
    help: 'Another host name the server answers to (repeatable; wildcards * and ?).',
    docs: 'Needs --server-name. `*.example.com` matches any subdomain of example.com (not example.com itself), as Apache\'s `ServerAlias` does.',
    schema: listOf(hostName(true), 'host names'),
  },
  {
    key: 'allowLocalhost', flag: 'allow-localhost', section: 'Host names and proxies', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'With --server-name, let clients on loopback in whatever Host they send.',
    docs: 'Needs --server-name. A client on 127.0.0.0/8 or ::1 is served whatever Host it sends, so `curl http://localhost:8000/` works on the server itself. The client is the one the proxy rules give: a request a trusted proxy on the same machine forwards for a remote client is not a loopback client. Unlike mod_wsgi-express, it never bypasses other access rules.',
    schema: flag(),
  },
  {
    key: 'trustProxyHeader', flag: 'trust-proxy-header', section: 'Host names and proxies', kind: 'list', readBy: 'worker',
    valueName: 'HEADER-NAME', default: [],
    help: 'Believe this forwarded header from trusted proxies (repeatable).',
    docs: `mod_wsgi's header registry, plus RFC 7239 \`Forwarded\`: ${HEADER_REGISTRY.map((e) => '`' + e.name + '`').join(', ')} (any case). Headers come in categories (client address, host, server name, port, script name, scheme); once one header of a category is trusted, every other header of that category is removed from every request, and from a peer that is not a --trust-proxy the trusted ones are removed too. The rules and what each header rewrites: docs/proxies.md.`,
    schema: listOf(text('a header name').refine((name) => lookupHeader(name) !== undefined, {
      error: `must be one of: ${HEADER_REGISTRY.map((e) => e.name).join(', ')}`,
    }), 'header names'),
  },
  {
    key: 'trustProxy', flag: 'trust-proxy', section: 'Host names and proxies', kind: 'list', readBy: 'worker',
    valueName: 'IP|CIDR', default: [],
    help: 'A proxy (address or CIDR block, IPv4 or IPv6) whose forwarded headers are believed (repeatable).',
    docs: 'Without any --trust-proxy every peer is believed, as in mod_wsgi-express: give one whenever clients can reach the server other than through the proxy. With a list, the client address is found by walking X-Forwarded-For from the right past listed proxies. Needs --trust-proxy-header or --proxy-protocol.',
    schema: listOf(text('an IP address or CIDR block').refine((block) => parseProxyBlock(block) !== undefined, {
      error: 'must be an IP address or CIDR block (192.0.2.7, 10.0.0.0/8, 2001:db8::/32)',
    }), 'IP addresses or CIDR blocks'),
  },
  {
    key: 'proxyProtocol', flag: 'proxy-protocol', section: 'Host names and proxies', kind: 'boolean', readBy: 'worker',
    default: false,
    help: 'Read a PROXY protocol header (v1 or v2) on connections from --trust-proxy peers.',
    docs: 'Not in mod_wsgi-express; as HAProxy\'s `send-proxy`, AWS NLB and gunicorn\'s --proxy-protocol use it. Needs --trust-proxy: a connection from a listed proxy must start with a valid PROXY header, else it is closed; the header\'s source address becomes the client (`REMOTE_ADDR`, `REMOTE_PORT`, the socket\'s `remoteAddress`), and a v2 header saying the client used TLS makes the scheme https. A connection from any other peer is served as plain HTTP, and a PROXY header from it gets 400 and is closed.',
    schema: flag(),
  },
  {
    key: 'keepAliveTimeout', flag: 'keep-alive-timeout', section: 'Network', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 5,
    help: 'How long an idle keep-alive connection is kept open (0: no keep-alive).',
    docs: 'mod_wsgi-express uses 2 s; tsgi-express keeps Node\'s 5 s. Behind a proxy or load balancer that reuses its connections (nginx `keepalive` upstreams, cloud load balancers), a server that closes an idle connection races the proxy\'s next request on it, which then fails; the longer the server waits, the rarer that is, and an idle connection costs a Node worker no thread. Set it above your proxy\'s own idle timeout. Responses say `Keep-Alive: timeout=N`, and the connection is closed 1 s after that (Node\'s margin for a client that reuses it just in time). 0 closes every connection after its response (`Connection: close`).',
    schema: seconds(),
  },
  {
    key: 'serverBacklog', flag: 'server-backlog', section: 'Network', kind: 'number', readBy: 'worker',
    valueName: 'NUMBER', default: 500,
    help: 'Connections the kernel queues on the listening socket before they are accepted.',
    docs: 'The `listen()` backlog, as mod_wsgi-express\'s `ListenBacklog`. The kernel caps it at `net.core.somaxconn` (4096 on current Linux). It also bounds the connections that wait in a worker past --max-connections.',
    schema: integer(1, 65535),
  },
  {
    key: 'maxConnections', flag: 'max-connections', section: 'Network', kind: 'number', readBy: 'worker',
    valueName: 'NUMBER', defaultText: 'unlimited',
    help: 'Open connections one worker serves at once; more wait until one closes.',
    docs: 'Not in mod_wsgi-express, where Apache\'s front end bounds connections. A connection past the limit is accepted but not read until one of the worker\'s connections closes, as if it still waited in the listen backlog (its --header-timeout starts when it is taken); at most --server-backlog connections wait per worker, and more are closed. With two or more workers the master deals connections round-robin, so a connection dealt to a full worker waits for that worker even when another has room.',
    schema: integer(1, 10_000_000),
  },
  {
    key: 'limitRequestBody', flag: 'limit-request-body', section: 'Request limits', kind: 'number', readBy: 'worker',
    valueName: 'BYTES', default: 10485760,
    help: 'The largest request body accepted, in bytes (0: no limit).',
    docs: 'As mod_wsgi-express: a request whose `Content-Length` is above it gets `413` and the application is not called. mod_wsgi-express refuses chunked request bodies (411) unless given `--chunked-request`; tsgi-express accepts them, because browsers and HTTP clients stream uploads chunked, and counts them as they arrive: past the limit the application\'s next read fails with `RequestBodyError` (`TSGI_BODY_TOO_LARGE`, docs/tsgi.md), the client gets `413` if no response has started, and the connection is closed.',
    schema: integer(0),
  },
  {
    key: 'limitRequestLine', flag: 'limit-request-line', section: 'Request limits', kind: 'number', readBy: 'worker',
    valueName: 'BYTES', default: 8190,
    help: 'The longest request line (method, target, version) accepted (0: no limit of its own).',
    docs: 'As Apache\'s `LimitRequestLine`: a longer line gets `414 URI Too Long`. Node\'s own limit on the whole request head (`--max-http-header-size`, 16 KiB unless set through `NODE_OPTIONS`) stays the outer bound for this and the next two options: a head past it gets `431`, or `414` when the request line alone is that long.',
    schema: integer(0),
  },
  {
    key: 'limitRequestFields', flag: 'limit-request-fields', section: 'Request limits', kind: 'number', readBy: 'worker',
    valueName: 'NUMBER', default: 100,
    help: 'The most header fields a request may have (0: no limit of its own).',
    docs: 'As Apache\'s `LimitRequestFields`; more get `431 Request Header Fields Too Large` (Apache answers 400).',
    schema: integer(0),
  },
  {
    key: 'limitRequestFieldSize', flag: 'limit-request-field-size', section: 'Request limits', kind: 'number', readBy: 'worker',
    valueName: 'BYTES', default: 8190,
    help: 'The longest request header field (name, colon, space and value) accepted (0: no limit of its own).',
    docs: 'As Apache\'s `LimitRequestFieldSize`; a longer field gets `431 Request Header Fields Too Large` (Apache answers 400).',
    schema: integer(0),
  },
  {
    key: 'processes', flag: 'processes', section: 'Processes and threads', kind: 'number', readBy: 'both',
    valueName: 'NUMBER', defaultText: '1',
    help: 'The number of worker processes.',
    docs: 'Giving this option at all, even `--processes 1`, makes `tsgi.multiprocess` true, as in mod_wsgi. With two or more, the master accepts each connection and hands it to the next worker (node:cluster round-robin). With one, the worker accepts from a listening socket the master keeps open, so connections that arrive while a crashed worker is being replaced wait for the replacement instead of being refused.',
    schema: integer(1, 1024),
  },
  {
    key: 'threads', flag: 'threads', section: 'Processes and threads', kind: 'number', readBy: 'both',
    valueName: 'NUMBER', default: 100,
    help: 'Requests one worker runs at once; more wait in its queue.',
    docs: 'Node runs the requests of one worker concurrently on one event loop (as Python threads share the GIL). `--threads 1` serialises requests for applications that are not reentrant. mod_wsgi-express defaults to 5 threads; 100 here, because concurrent requests on one event loop cost no thread each.',
    schema: integer(1, 100000),
  },
  {
    key: 'user', flag: 'user', section: 'Processes and threads', kind: 'string', readBy: 'master',
    valueName: 'NAME', defaultText: 'the user who started the server',
    help: 'Started as root: the user the workers run as (the master keeps root to bind the ports).',
    docs: "As mod_wsgi-express: started as root, the master binds the listening sockets (ports below 1024 included) and keeps writing the logs and the pid file; the workers run as NAME (a name, or `#UID`), with its primary group unless --group says otherwise, `HOME`, `USER` and `LOGNAME` set to its own, and no supplementary groups; files they write are theirs. `--user root` is refused unless --allow-root is given. Not started as root: a warning, and the option is ignored (the workers run as the user who started the server). Started as root without --user, the workers run as root and the banner warns. A user that does not exist stops the server at start (exit 2). A process group can run as a user of its own: its `apps` entry's `user` and `unix-group` (docs/applications.md, Process groups).",
    schema: userAccount(),
  },
  {
    key: 'group', flag: 'group', section: 'Processes and threads', kind: 'string', readBy: 'master',
    valueName: 'NAME', defaultText: "--user's primary group",
    help: 'Started as root: the group the workers run as.',
    docs: 'A name, or `#GID`. Like --user, ignored with a warning when the server was not started as root; a group that does not exist stops the server at start (exit 2).',
    schema: groupAccount(),
  },
  {
    key: 'allowRoot', flag: 'allow-root', section: 'Processes and threads', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'Allow --user root: workers that run the application as root.',
    docs: 'mod_wsgi refuses to run its daemon processes as root; so does tsgi-express unless this is given.',
    schema: flag(),
  },
  {
    key: 'startupTimeout', flag: 'startup-timeout', section: 'Timeouts', kind: 'number', readBy: 'both',
    valueName: 'SECONDS', default: 15,
    help: 'How long a worker may take to load the application and listen (0: no limit).',
    docs: 'A worker not ready in time is killed and counts as failing to start: at start-up the server stops (exit 3), on a reload the old workers keep serving, and a replacement for a crashed worker is retried with back-off. mod_wsgi-express restarts the process in every case. 0 disables the timeout, as in mod_wsgi-express. A module that exports nothing servable has this long to call `listen()` (docs/frameworks.md); the error then says it did not.',
    schema: seconds(),
  },
  {
    key: 'shutdownTimeout', flag: 'shutdown-timeout', section: 'Timeouts', kind: 'number', readBy: 'both',
    valueName: 'SECONDS', default: 5,
    help: 'On stop, how long in-flight requests may run before workers are killed.',
    schema: seconds(),
  },
  {
    key: 'gracefulTimeout', flag: 'graceful-timeout', section: 'Timeouts', kind: 'number', readBy: 'both',
    valueName: 'SECONDS', default: 15,
    help: 'On reload or recycle, how long old workers may finish in-flight requests.',
    docs: 'Applies to rolling reloads (a saved change, SIGHUP), to recycled workers (--maximum-requests and the other Recycling options) and to workers removed with SIGTTOU: once their replacement is ready they stop accepting and are killed when this runs out. mod_wsgi-express keeps a recycled daemon accepting during this time; here its replacement already serves.',
    schema: seconds(),
  },
  {
    key: 'queueTimeout', flag: 'queue-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 45,
    help: 'A request that waited this long for a free thread gets 503 without reaching the app.',
    docs: 'mod_wsgi answers 504 here; tsgi-express answers `503 Service Unavailable` with `Retry-After`, because the request never reached the application. 0 disables the timeout.',
    schema: seconds(),
  },
  {
    key: 'requestTimeout', flag: 'request-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 60,
    help: 'A request running in the application longer than this gets 504, or its connection is cut if its response has started (0: no limit).',
    docs: "Counted from when the request enters the application (after any wait for a --threads slot), exactly SECONDS: mod_wsgi fires at `SECONDS*(1+ln(threads))` and then recycles the whole process; here the worker goes on serving its other requests. The application is told: `tsgi.signal` in the environ and `Request.signal` for fetch apps abort with a `RequestTimeoutError`, and node apps see `close` on `req` and `res`. Each timeout is logged with the request's method, URL and worker, and counted. Off in --debug-mode, so a request paused in a debugger is not cut off.",
    schema: seconds(),
  },
  {
    key: 'deadlockTimeout', flag: 'deadlock-timeout', section: 'Timeouts', kind: 'number', readBy: 'master',
    valueName: 'SECONDS', default: 60,
    help: "A worker whose event loop has not answered the master's heartbeat for this long is replaced (0: never).",
    docs: "For a worker stuck in synchronous JavaScript (a `while (true)`, a loop over a huge input), where mod_wsgi's is for a Python process that cannot get the GIL. The master asks each worker for its stats every second; when one has not answered for SECONDS, a replacement is started at once and the worker is killed (SIGKILL), as mod_wsgi-express does with the same default of 60. Its requests in flight are cut off; connections it had not taken go to the other workers (with one worker, they wait for the replacement). Counted as `deadlock_timeout` restarts. Given explicitly (even `--deadlock-timeout 60`), each worker also keeps a watchdog thread, and before the kill it pauses the stuck main thread through the inspector so that the master writes where its JavaScript was stuck (source-mapped) to the error log. That thread has its own V8 isolate and costs each worker memory (measured at peak under load: +11 MB on Node 20, +16 MB on Node 24 for the hello app), which is why the default leaves it out. 0 turns the whole check off. Off in --debug-mode, where a worker paused in a debugger answers nothing.",
    schema: seconds(),
  },
  {
    key: 'maximumRequests', flag: 'maximum-requests', section: 'Recycling', kind: 'number', readBy: 'worker',
    valueName: 'NUMBER', default: 0,
    help: 'Recycle a worker once it has served this many requests (0: never).',
    docs: 'Every recycle is rolling: a replacement is started, and once it is ready the old worker stops accepting and finishes its requests (--graceful-timeout); until then it keeps serving, so it may serve a few more. One worker of the server recycles at a time, so capacity stays. Each recycle is logged with its reason, as mod_wsgi names it (`maximum_requests` here), and counted.',
    schema: integer(0),
  },
  {
    key: 'maximumRequestsJitter', flag: 'maximum-requests-jitter', section: 'Recycling', kind: 'number', readBy: 'worker',
    valueName: 'NUMBER', default: 0,
    help: 'Add a random 0 to NUMBER to --maximum-requests, per worker, so that workers do not all recycle together.',
    docs: "As gunicorn's --max-requests-jitter; mod_wsgi-express has no such option. Needs --maximum-requests.",
    schema: integer(0),
  },
  {
    key: 'restartInterval', flag: 'restart-interval', section: 'Recycling', kind: 'number', readBy: 'master',
    valueName: 'SECONDS', default: 0,
    help: 'Recycle a worker once it has been serving this long (0: never).',
    docs: 'Reason `restart_interval`. Workers started together come due together; they are recycled one after another.',
    schema: seconds(),
  },
  {
    key: 'inactivityTimeout', flag: 'inactivity-timeout', section: 'Recycling', kind: 'number', readBy: 'both',
    valueName: 'SECONDS', default: 0,
    help: 'Recycle a worker that has had no request for this long (0: never).',
    docs: 'Idle means no request running and none started or finished for SECONDS; requests to --ignore-activity paths do not count. Reason `inactivity_timeout`. Its replacement starts idle too, so an idle server recycles every SECONDS, giving back whatever memory the application held, as mod_wsgi does.',
    schema: seconds(),
  },
  {
    key: 'ignoreActivity', flag: 'ignore-activity', section: 'Recycling', kind: 'list', readBy: 'worker',
    valueName: 'URL-PATH', default: [],
    help: 'Requests to this URL path do not count as activity for --inactivity-timeout (repeatable).',
    docs: 'For health checks and monitoring: `--ignore-activity /health`. Matches the path and everything below it (`/health/db`, not `/healthz`), as the client sent it, mount point included (mod_wsgi\'s `WSGIIgnoreActivity` in a `<Location>`).',
    schema: list('a URL path starting with /').refine((paths) => paths.every((p) => p.startsWith('/')), {
      message: 'must be a URL path starting with /',
    }),
  },
  {
    key: 'cpuTimeLimit', flag: 'cpu-time-limit', section: 'Recycling', kind: 'number', readBy: 'master',
    valueName: 'SECONDS', default: 0,
    help: 'Recycle a worker once it has used this much CPU time (0: never).',
    docs: "User plus system time of the worker process, checked every second. Reason `cpu_time_limit`. mod_wsgi sets RLIMIT_CPU and recycles on SIGXCPU; the effect is the same.",
    schema: seconds(),
  },
  {
    key: 'memoryLimit', flag: 'memory-limit', section: 'Recycling', kind: 'number', readBy: 'master',
    valueName: 'MB', default: 0,
    help: "Recycle a worker whose resident memory (RSS) is above this many megabytes (0: never).",
    docs: "Each worker's RSS comes with its answer to the master's heartbeat, every second; a worker above the limit is recycled gracefully (reason `memory_limit`), where PM2 polls every 30 s and restarts abruptly. A limit below a worker's size once it has loaded the app would recycle every worker as soon as it starts: the server warns about it at start and does not apply the limit. 1 MB is 1048576 bytes.",
    schema: integer(0),
  },
  {
    key: 'headerTimeout', flag: 'header-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 15,
    help: 'How long a client may take to send a request head (0: no limit).',
    docs: 'As mod_wsgi-express (Apache\'s `RequestReadTimeout header=15-30,MinRate=500`): the time is extended by one second for every --header-min-rate bytes received, up to --header-max-timeout. A client out of time gets `408` and the connection is closed; one that sent nothing at all is closed without an answer (a browser\'s unused preconnection). The clock starts when the connection is taken, and on a kept-alive connection when the next request\'s first bytes arrive (until then --keep-alive-timeout applies). Checked about once a second. On HTTP/2 the session is the connection: while it has no open stream, the next request head must arrive in time, or the session is closed with a GOAWAY (docs/https.md).',
    schema: seconds(),
  },
  {
    key: 'headerMaxTimeout', flag: 'header-max-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 30,
    help: 'The most --header-min-rate can extend --header-timeout to (0: no maximum).',
    docs: 'Must not be below --header-timeout.',
    schema: seconds(),
  },
  {
    key: 'headerMinRate', flag: 'header-min-rate', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'BYTES/S', default: 500,
    help: 'Each this many bytes of request head received extend --header-timeout by one second (0: no extension).',
    schema: integer(0),
  },
  {
    key: 'bodyTimeout', flag: 'body-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 15,
    help: 'How long a client may take to send a request body (0: no limit).',
    docs: 'As mod_wsgi-express (`RequestReadTimeout body=15,MinRate=500`): extended by one second for every --body-min-rate bytes received, up to --body-max-timeout when that is set. The clock runs from the end of the head while the server waits for the client: not while the body waiting to be read fills the server\'s buffers (an application that has not read yet, or reads slowly). Out of time, the application\'s reads fail with `RequestBodyError` (`TSGI_BODY_TIMEOUT`), the client gets `408` if no response has started, and the connection is closed. Checked about once a second. On HTTP/2 the same holds per stream, and the stream is closed instead of the connection: the session\'s other requests go on.',
    schema: seconds(),
  },
  {
    key: 'bodyMaxTimeout', flag: 'body-max-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 0,
    help: 'The most --body-min-rate can extend --body-timeout to (0: no maximum).',
    docs: 'Must not be below --body-timeout.',
    schema: seconds(),
  },
  {
    key: 'bodyMinRate', flag: 'body-min-rate', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'BYTES/S', default: 500,
    help: 'Each this many bytes of request body received extend --body-timeout by one second (0: no extension).',
    schema: integer(0),
  },
  {
    key: 'socketTimeout', flag: 'socket-timeout', section: 'Timeouts', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 60,
    help: 'A connection on which nothing is read or written for this long during a request is closed (0: never).',
    docs: 'As mod_wsgi-express\'s (Apache\'s `Timeout`): a client that stops reading a large response, or one whose response stalls this long after it started (long-polling and server-sent events must send something more often), loses the connection, and the worker its slot. Before a response starts, the wait is --request-timeout\'s (504) instead, and --queue-timeout\'s (503) while the request waits for a thread. Not applied in --debug-mode, where a request may sit at a breakpoint. On HTTP/2 the timer is the stream\'s, and the stream is reset instead of the connection closed.',
    schema: seconds(),
  },
  {
    key: 'reloadOnChanges', flag: 'reload-on-changes', section: 'Reloading', kind: 'boolean', readBy: 'master',
    default: false,
    help: "Reload when any local module in the app's import graph changes.",
    docs: 'Local modules are the files outside `node_modules` that the workers actually loaded. Without this option only the entry script is watched.',
    schema: flag(),
  },
  {
    key: 'disableReloading', flag: 'disable-reloading', section: 'Reloading', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'Do not watch any file; reload only on SIGHUP.',
    docs: 'Wins over --reload-on-changes when both are given, as in mod_wsgi-express.',
    schema: flag(),
  },
  {
    key: 'proxyMountPoint', flag: 'proxy-mount-point', section: 'Proxying', kind: 'pairs', readBy: 'worker',
    valueName: 'URL-PATH UPSTREAM', default: [],
    help: 'Reverse-proxy requests under URL-PATH to UPSTREAM (repeatable).',
    docs: 'As mod_wsgi-express (Apache `ProxyPass` with `upgrade=websocket`): UPSTREAM is `http://host[:port][/path]`, `https://...`, or `unix:/path/to.sock|http://host/`. The prefix is replaced by the upstream\'s path (`/api/users` reaches `http://up:9000/users` for `--proxy-mount-point /api http://up:9000/`), and `/api` itself is redirected (302) to `/api/`. Bodies stream both ways (uploads, server-sent events); `X-Forwarded-For` (appended), `-Host`, `-Proto`, `-Port` and `-Prefix` are set; `Location`/`Content-Location` and `Set-Cookie` paths pointing into the upstream are rewritten back under the mount; WebSocket and other upgrades are passed through. An upstream that is down gets 502, one slower than --proxy-timeout 504, both logged. Proxied requests pass the host check, header filter, access control and limits and are logged in the access log, but take no --threads slot. An UPSTREAM that does not parse stops the server at start.',
    schema: upstreamPairs('a URL-PATH and an UPSTREAM'),
  },
  {
    key: 'proxyVirtualHost', flag: 'proxy-virtual-host', section: 'Proxying', kind: 'pairs', readBy: 'worker',
    valueName: 'HOST UPSTREAM', default: [],
    help: 'Reverse-proxy every request for Host HOST to UPSTREAM (repeatable).',
    docs: 'As --proxy-mount-point for a whole host name (the `Host` header without its port, compared without case), with no prefix to strip and no `X-Forwarded-Prefix`. mod_wsgi-express makes it a name-based virtual host on the same port; so does this.',
    schema: upstreamPairs('a HOST and an UPSTREAM'),
  },
  {
    key: 'proxyTimeout', flag: 'proxy-timeout', section: 'Proxying', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 60,
    help: 'How long a proxied upstream may take to connect, answer, or send the next piece of its body.',
    docs: 'Apache\'s `ProxyTimeout`: past it a request that has no answer yet gets 504; a body that stalls that long mid-way is cut. mod_wsgi-express falls back to --socket-timeout (60 s). An established WebSocket tunnel is not cut when idle (under Apache it is).',
    schema: seconds(),
  },
  {
    key: 'setenv', flag: 'setenv', section: 'Environment', kind: 'pairs', readBy: 'worker',
    valueName: 'NAME VALUE', default: [],
    help: 'Add NAME=VALUE to every request environ (repeatable).',
    docs: 'As mod_wsgi\'s `SetEnv`: the value is added to the request environ, not to `process.env`. Given twice for one NAME, the last value wins. It never replaces a key the request or the server sets (`REMOTE_ADDR`, `HTTP_*`, `tsgi.*`).',
    schema: pairs('a NAME and a VALUE'),
  },
  {
    key: 'passenv', flag: 'passenv', section: 'Environment', kind: 'list', readBy: 'worker',
    valueName: 'NAME', default: [],
    help: "Copy the server's environment variable NAME into every request environ (repeatable).",
    docs: 'One NAME per flag, as in mod_wsgi-express: `--passenv HOME --passenv LANG`. A NAME not set in the environment the server was started with is skipped, with a warning at start-up (Apache\'s `PassEnv` warns the same way). --setenv wins over --passenv for the same NAME.',
    schema: list('an environment variable name'),
  },
  {
    key: 'authUserScript', flag: 'auth-user-script', section: 'Access control', kind: 'string', readBy: 'both',
    valueName: 'FILE',
    help: 'Authenticate users with a script exporting checkPassword (Basic) or getRealmHash (Digest).',
    docs: 'Loaded in every worker like the application (TypeScript or JavaScript, through tsx, with source maps). `checkPassword(environ, user, password)` returns `true` (authenticated as `user`), `false` or `null`/`undefined` (401), or a non-empty string (authenticated as that name: `REMOTE_USER`, the access log\'s `%u` and the group check use it); anything else, or a throw, is a 500 logged with the rule broken. `getRealmHash(environ, user, realm)` returns the hex MD5 of `user:realm:password`, or `null`/`undefined` for no such user. Either may return a Promise. A script without the export --auth-type needs stops the server at start (exit 2). Reloaded, like the application, when it changes. See docs/authentication.md.',
    schema: text('a file path'),
  },
  {
    key: 'authType', flag: 'auth-type', section: 'Access control', kind: 'string', readBy: 'both',
    valueName: 'TYPE', default: 'Basic',
    help: 'The HTTP authentication scheme: Basic (RFC 7617) or Digest (RFC 7616, MD5, qop=auth).',
    docs: '--auth-digest-file implies `Digest`; giving `Basic` with it is an error, and so is `Digest` with --auth-user-file (htpasswd hashes cannot answer a Digest challenge).',
    schema: choice(AUTH_TYPES),
  },
  {
    key: 'authUserFile', flag: 'auth-user-file', section: 'Access control', kind: 'string', readBy: 'both',
    valueName: 'FILE',
    help: 'Authenticate users against an htpasswd file (bcrypt, $apr1$, {SHA}, $5$, $6$), as Apache\'s AuthUserFile.',
    docs: 'Beyond mod_wsgi-express (the Trac way). Entries made by `htpasswd -B`, `-m`, `-s`, `-2` and `-5` are accepted; plain-text and DES-crypt entries (`htpasswd -p`, `-d`) stop the server at start with the line number. Re-read in place when it changes, even with --disable-reloading; a version with a bad line is logged and the previous one stays in force. Not with --auth-user-script.',
    schema: text('a file path'),
  },
  {
    key: 'authDigestFile', flag: 'auth-digest-file', section: 'Access control', kind: 'string', readBy: 'both',
    valueName: 'FILE',
    help: 'Authenticate users with Digest against an htdigest file (user:realm:hash).',
    docs: 'Implies --auth-type Digest. Only the entries for --auth-realm count; a file whose entries are all for other realms stops the server at start. Re-read in place when it changes, like --auth-user-file. Not with --auth-user-script or --auth-user-file.',
    schema: text('a file path'),
  },
  {
    key: 'authGroupScript', flag: 'auth-group-script', section: 'Access control', kind: 'string', readBy: 'both',
    valueName: 'FILE',
    help: 'A script exporting groupsForUser(environ, user); the user must be in --auth-group.',
    docs: '`groupsForUser` returns an iterable of strings (or a Promise of one) for the authenticated (possibly renamed) user. A user not in --auth-group gets 401, as Apache answers; so does an empty list, a throw, a value that is not an iterable (a string is refused too) or an item that is not a string, which are also logged. Needs --auth-user-script, --auth-user-file or --auth-digest-file.',
    schema: text('a file path'),
  },
  {
    key: 'authGroup', flag: 'auth-group', section: 'Access control', kind: 'string', readBy: 'worker',
    valueName: 'NAME', default: 'tsgi',
    help: 'The group --auth-group-script must report the user in.',
    docs: 'mod_wsgi-express defaults to `wsgi`, a placeholder: set your own. Given without --auth-group-script it is an error.',
    schema: text('a group name'),
  },
  {
    key: 'hostAccessScript', flag: 'host-access-script', section: 'Access control', kind: 'string', readBy: 'both',
    valueName: 'FILE',
    help: 'A script exporting allowAccess(environ, host), asked before authentication for every request.',
    docs: '`host` is the client\'s IP address. `true` or `null`/`undefined` let the request go on (authentication still applies); `false`, any other value or a throw answer 403 (the last two are logged). Always site-wide, whatever --auth-location says.',
    schema: text('a file path'),
  },
  {
    key: 'authRealm', flag: 'auth-realm', section: 'Access control', kind: 'string', readBy: 'worker',
    valueName: 'NAME', defaultText: 'HOST:PORT',
    help: 'The realm named in the authentication challenge.',
    docs: 'As mod_wsgi-express: `HOST:PORT`, HOST being --host or `localhost`. For Digest the realm is part of every password hash (htdigest\'s second argument), so it must match the file or the script.',
    schema: text('a realm name'),
  },
  {
    key: 'authLocation', flag: 'auth-location', section: 'Access control', kind: 'list', readBy: 'worker',
    valueName: 'URL-PATH', default: [],
    help: 'Require authentication only under this path prefix (repeatable); by default the whole site.',
    docs: 'Matched on whole path segments after the path is decoded and normalised (`/trac/login` covers `/trac/login` and `/trac/login/x`, not `/trac/loginx`; `/trac/./login` and `/trac//%6Cogin` are covered), case-sensitively, as Apache\'s `<Location>`. Without it every request needs credentials, including static files and status pages.',
    schema: list('a URL path'),
  },
  {
    key: 'authNonceLifetime', flag: 'auth-nonce-lifetime', section: 'Access control', kind: 'number', readBy: 'worker',
    valueName: 'SECONDS', default: 300,
    help: 'How long a Digest nonce stays valid; an older one gets 401 with stale=true.',
    docs: 'A client answering a stale nonce with the right password is asked to retry with a new nonce without prompting the user again. Each (nonce, nc) pair is accepted once, whichever worker it reaches.',
    schema: integer(1, 86400),
  },
  {
    key: 'logLevel', flag: 'log-level', section: 'Logging', kind: 'string', readBy: 'both',
    valueName: 'LEVEL', default: 'info',
    help: 'The least severe error-log level written: error, warn, info or debug.',
    docs: 'mod_wsgi-express defaults to `warn` and takes any Apache `LogLevel`; tsgi-express has these four levels and defaults to `info`, which shows signals received and reloads.',
    schema: choice(LOG_LEVELS),
  },
  {
    key: 'accessLog', flag: 'access-log', section: 'Logging', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'Write an access log line per request (to stdout, or access_log with --log-directory).',
    schema: flag(),
  },
  {
    key: 'accessLogFormat', flag: 'access-log-format', section: 'Logging', kind: 'string', readBy: 'worker',
    valueName: 'FORMAT', default: 'common',
    help: "The access log format: common, combined, or an Apache LogFormat string.",
    docs: '`common` is `%h %l %u %t "%r" %>s %b`; `combined` adds `"%{Referer}i" "%{User-agent}i"`. `%b` counts body bytes sent, chunked responses included, and is `-` for none. Any other value is an Apache LogFormat, as in mod_wsgi-express, with these directives: `%h %a %{c}a %A %l %u %t %{sec|msec|usec}t %r %m %U %q %H %s %>s %b %B %D %T %{s|ms|us}T %p %{local|canonical|remote}p %P %{pid}P %L` (the request id) `%v %V %X %{Name}i %{Name}o %%`, and `\\n`, `\\t`. Any other directive, and status conditions such as `%400{Referer}i`, stop the server at start-up with a message naming it.',
    schema: logFormat(),
  },
  {
    key: 'logDirectory', flag: 'log-directory', section: 'Logging', kind: 'string', readBy: 'master',
    valueName: 'DIR', defaultText: 'none: logs go to the terminal',
    help: 'Write the error log (and the access log, the startup log) as files in DIR.',
    docs: 'Created if missing; one that cannot be created or written stops the server at start-up. Without it the error log goes to stderr and the access log to stdout, unlike mod_wsgi-express, whose default is files in the server root: a server in a container or under systemd has its terminal collected already, and a file in a temporary directory is easily lost. --rotate-logs or --startup-log without --log-directory write their files into the server root, as mod_wsgi-express does. The master is the one writer of every file; the banner shows each path.',
    schema: text('a directory'),
  },
  {
    key: 'logToTerminal', flag: 'log-to-terminal', section: 'Logging', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'Log to the terminal (stderr and stdout): the default, accepted for mod_wsgi-express compatibility.',
    docs: 'Cannot be combined with the options that write log files (--log-directory, --rotate-logs, --startup-log): the server stops at start-up naming both flags.',
    schema: flag(),
  },
  {
    key: 'errorLogName', flag: 'error-log-name', section: 'Logging', kind: 'string', readBy: 'master',
    valueName: 'NAME', default: 'error_log',
    help: 'The error log file name in the log directory.',
    schema: fileName(),
  },
  {
    key: 'accessLogName', flag: 'access-log-name', section: 'Logging', kind: 'string', readBy: 'master',
    valueName: 'NAME', default: 'access_log',
    help: 'The access log file name in the log directory.',
    schema: fileName(),
  },
  {
    key: 'startupLog', flag: 'startup-log', section: 'Logging', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'Also write what happens during start-up (config, port, workers starting, their output) to a file.',
    docs: 'As httpd\'s `-E FILE` under mod_wsgi-express: what the master does until the server is ready (the configuration and port, each worker forked and running) and every error-log line meanwhile (what the workers print while the app loads), then the Ready line; or the reason it failed to start (an application that cannot load, a port that cannot be bound). In --startup-log-name in the log directory; not rotated.',
    schema: flag(),
  },
  {
    key: 'startupLogName', flag: 'startup-log-name', section: 'Logging', kind: 'string', readBy: 'master',
    valueName: 'NAME', default: 'startup_log',
    help: 'The startup log file name in the log directory.',
    schema: fileName(),
  },
  {
    key: 'rotateLogs', flag: 'rotate-logs', section: 'Logging', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'Rotate the log files when they reach --max-log-size (and every --rotate-interval).',
    docs: 'Through rotating-file-stream, in the master. The active file keeps its name (so `tail -F` follows it); the full one is renamed with the time of the rotation, as Apache\'s rotatelogs names them under mod_wsgi-express: `error_log.2026-12-07-01_30_00` (UTC; `.2`, `.3` for more within one second; `.gz` with --compress-rotated-logs). No line is split between two files. Rotation never blocks requests: lines wait in the master meanwhile.',
    schema: flag(),
  },
  {
    key: 'maxLogSize', flag: 'max-log-size', section: 'Logging', kind: 'number', readBy: 'master',
    valueName: 'MIB', default: 5,
    help: 'With --rotate-logs, the size in MiB at which a log file is rotated (fractions allowed: 0.5).',
    schema: mebibytes(),
  },
  {
    key: 'rotateInterval', flag: 'rotate-interval', section: 'Logging', kind: 'string', readBy: 'master',
    valueName: 'INTERVAL', defaultText: 'none: by size only',
    help: 'With --rotate-logs, also rotate every INTERVAL: 30m, 1h, 6h, 1d (s, m, h, d).',
    docs: 'Not in mod_wsgi-express. Rotations fall on multiples of the interval in UTC (`1d`: at midnight UTC, `6h`: at 00:00, 06:00 ...), so minutes and seconds must divide 60 and hours 24. A file that has not reached --max-log-size is rotated all the same.',
    schema: rotateInterval(),
  },
  {
    key: 'maxLogFiles', flag: 'max-log-files', section: 'Logging', kind: 'number', readBy: 'master',
    valueName: 'N', defaultText: 'all kept',
    help: 'With --rotate-logs, keep only the N most recent rotated files of each log.',
    docs: 'Not in mod_wsgi-express. Older rotated files are removed after each rotation. The list of rotated files is kept beside each log as a hidden `.NAME.rotated` file, so files rotated by an earlier run count too.',
    schema: integer(1),
  },
  {
    key: 'compressRotatedLogs', flag: 'compress-rotated-logs', section: 'Logging', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'With --rotate-logs, gzip each rotated file (`error_log.2026-12-07-01_30_00.gz`).',
    docs: 'Not in mod_wsgi-express. Compression runs in the master with zlib, off the request path; the active file is not compressed.',
    schema: flag(),
  },
  {
    key: 'errorLogFormat', flag: 'error-log-format', section: 'Logging', kind: 'string', readBy: 'both',
    valueName: 'FORMAT', default: DEFAULT_ERROR_LOG_FORMAT,
    help: "The error log's line format: an Apache ErrorLogFormat string.",
    docs: 'Directives: `%t` (`Sat Nov 21 12:08:16 2026`), `%{u}t` (with microseconds), `%{c}t` and `%{cu}t` (compact ISO 8601: `2026-11-21 12:08:16.395000`), all in local time; `%l` the level (`error`, `warn`, `info`, `debug`, and `stdout` or `stderr` for what the app printed); `%m` the module (`tsgi`, or `app` for the app\'s output); `%P` the pid and `%T` the thread id (the pid: Node runs JavaScript on the main thread); `%a` the client `address:port` of the request the line belongs to; `%L` the request id; `%M` the message; `%F` the `file:line` that logged it (for the app\'s output, the line of the `console.log`; it costs a stack trace per line); `%%`. As in Apache, the format is split into fields where whitespace follows non-whitespace (`\\ ` is a space that does not split, `% ` an empty separator), and a field whose directive is empty (no request id, no client) is left out with the space before it; `%-L` writes `-` instead; `%7F` writes the item only for messages at that Apache level number or more verbose (3 error, 4 warn, 6 info, 7 debug). Each line of a multi-line message (a stack trace) gets the whole format. Any other directive stops the server at start-up, naming it.',
    schema: errorLogFormat(),
  },
  {
    key: 'logFormat', flag: 'log-format', section: 'Logging', kind: 'string', readBy: 'both',
    valueName: 'text|json', default: 'text',
    help: 'text: Apache-style lines; json: one JSON object per line in both logs, for log shippers.',
    docs: 'Not in mod_wsgi-express. JSON error-log lines have `time` (ISO 8601, UTC), `level` (as `%l`), `pid`, `source` (`tsgi` or `app`), `request_id` (when the line belongs to a request) and `message` (a stack trace stays one object). JSON access-log lines have `time` (the request\'s arrival, ISO 8601, UTC), `remote_addr`, `method`, `path` and `query` (as sent, `query` without the `?`), `protocol`, `status`, `bytes` (body bytes sent), `duration_us`, `user` (the authenticated user or null), `referer`, `user_agent` (null when absent), `request_id` and `pid`. Cannot be combined with --access-log-format or --error-log-format.',
    schema: choice(LOG_FORMATS),
  },
  {
    key: 'pidFile', flag: 'pid-file', section: 'Logging', kind: 'string', readBy: 'master',
    valueName: 'FILE', defaultText: 'SERVER_ROOT/tsgi-express.pid',
    help: "Write the master's pid to FILE (removed on exit).",
    docs: 'Always written, as mod_wsgi-express writes `SERVER_ROOT/httpd.pid`. On exit it is removed only if it still holds this server\'s pid.',
    schema: text('a file path'),
  },
  {
    key: 'serverStatus', flag: 'server-status', section: 'Status and deployment', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'Answer /server-status with the state of the server and its workers (loopback clients only, plus --server-status-allow).',
    docs: 'As mod_wsgi-express\'s (Apache\'s mod_status): an HTML page that refreshes itself every 5 s (`?refresh=N` sets another interval, `?refresh=0` none), `?auto` as mod_status\'s machine-readable text, `?json` for tools. It shows uptime, generation, requests served and per second (every request answered, as mod_status counts accesses: static files and the server\'s own answers such as a 404 or a 503 too), 503s from the queue, 504s from --request-timeout, recycles and restarts by reason, and each worker\'s pid, state, requests served, in flight and queued, RSS, CPU time, age and last recycle reason; then each process group (--mount-app, a --mount-app-match site while it runs) with its own workers. The path is `/server-status` at the root of the site, whatever --mount-point says, and never reaches the application; a --mount-point at or under it is an error. Only clients on loopback (127.0.0.0/8, ::1) or in a --server-status-allow block get it (others 403); behind a trusted proxy (--trust-proxy-header) the client is the one the proxy names, so a remote client whose request a proxy on the same machine forwards is not a loopback client. Authentication (--auth-user-script and the others) applies as to any page of the site. The worker that gets the request asks the master for the figures of the whole pool.',
    schema: flag(),
  },
  {
    key: 'serverStatusAllow', flag: 'server-status-allow', section: 'Status and deployment', kind: 'list', readBy: 'worker',
    valueName: 'IP|CIDR', default: [],
    help: 'Also show /server-status and --metrics-path to clients in this block (repeatable).',
    docs: 'Beyond mod_wsgi-express, which allows `localhost` only. IPv4 or IPv6, an address or a CIDR block (`10.0.0.0/8`). Needs --server-status or --metrics-path.',
    schema: listOf(text('an IP address or CIDR block').refine((block) => parseProxyBlock(block) !== undefined, {
      error: 'must be an IP address or CIDR block (192.0.2.7, 10.0.0.0/8, 2001:db8::/32)',
    }), 'IP addresses or CIDR blocks'),
  },
  {
    key: 'metricsPort', flag: 'metrics-port', section: 'Status and deployment', kind: 'number', readBy: 'both',
    valueName: 'NUMBER',
    help: 'Serve Prometheus metrics at /metrics on a listener of their own, on this port (0 picks a free one).',
    docs: 'Not in mod_wsgi-express. The listener is on --host, served by the workers; anyone who reaches the port gets the metrics (restrict it with a firewall or a network policy, or use --metrics-path). The figures are the whole server\'s, gathered by the master from every worker, and counters keep counting across reloads and recycles. The metrics are listed in docs/deploying.md. Not with --metrics-path.',
    schema: integer(0, 65535),
  },
  {
    key: 'metricsPath', flag: 'metrics-path', section: 'Status and deployment', kind: 'string', readBy: 'worker',
    valueName: 'URL-PATH',
    help: 'Serve Prometheus metrics at this path on the main port, to the clients /server-status allows.',
    docs: 'The access rule is the status page\'s: loopback clients and --server-status-allow blocks, and authentication applies. Answered by the server at the root of the site, whatever --mount-point says; a --mount-point at or under it is an error. Not with --metrics-port.',
    schema: text('a URL path starting with /').refine((p) => p.startsWith('/') && !/[?#]/.test(p), { error: 'must be a URL path starting with / (no ? or #)' }),
  },
  {
    key: 'healthCheckPath', flag: 'health-check-path', section: 'Status and deployment', kind: 'string', readBy: 'worker',
    valueName: 'URL-PATH',
    help: 'Answer this path with 200 while the server serves, 503 while it starts or stops (for load balancers and probes).',
    docs: 'Not in mod_wsgi-express. Answered by each worker itself, before host-name checks and access control (probes send neither a known Host nor credentials) and without taking one of the --threads: `200 ready` once every worker of the first generation is ready, `503 starting` before, `503 draining` from SIGTERM on (see --drain-delay). A reload or a recycle does not change it. GET and HEAD only. Give it to the load balancer, to Docker\'s HEALTHCHECK and to Kubernetes\' probes (docs/deploying.md).',
    schema: text('a URL path starting with /').refine((p) => p.startsWith('/') && !/[?#]/.test(p), { error: 'must be a URL path starting with / (no ? or #)' }),
  },
  {
    key: 'drainDelay', flag: 'drain-delay', section: 'Status and deployment', kind: 'number', readBy: 'master',
    valueName: 'SECONDS', default: 0,
    help: 'After SIGTERM, keep serving this long, the health path answering 503, before stopping.',
    docs: 'So that a load balancer that polls --health-check-path stops sending before the server stops accepting. During the delay every request is served as before; then the workers drain as on any stop (--shutdown-timeout). A second SIGTERM, or a SIGINT, ends the delay at once. SIGINT alone (Ctrl-C) stops without it.',
    schema: seconds(),
  },
  {
    key: 'setupOnly', flag: 'setup-only', section: 'Status and deployment', kind: 'boolean', readBy: 'master',
    default: false,
    help: 'Write the configuration, the control script and a systemd unit into the server root, then exit without starting (as setup-server).',
    docs: 'As mod_wsgi-express\'s `--setup-only`: `start-server --setup-only` does what `tsgi-express setup-server` does. Into the server root go `tsgi-express.json` (the resolved configuration), `tsgi-expressctl` (the control script: `start`, `foreground`, `stop`, `restart`, `graceful`, `configtest`, `status`, `reopen-logs`) and `tsgi-express.service` (a systemd unit running it); see docs/deploying.md. Needs a fixed --port (not 0).',
    schema: flag(),
  },
  {
    key: 'debugMode', flag: 'debug-mode', section: 'Debugging', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'One process, one thread, app output on the terminal, stack traces in error pages.',
    docs: 'Overrides --processes and --threads (the banner says so). No queue timeout, so a request paused in a debugger is not cut off. Exceptions return a 500 page with the source-mapped stack trace, the lines of the application\'s file around the throw and the request (method, URL, headers, environ), all of which is never shown outside debug mode. Unlike mod_wsgi, reloading still works in debug mode. Each --enable-* option below implies it, as in mod_wsgi-express. See docs/debugging.md.',
    schema: flag(),
  },
  {
    key: 'enableDebugger', flag: 'enable-debugger', section: 'Debugging', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'Open the inspector on 127.0.0.1; an exception the app does not catch pauses an attached debugger where it was thrown.',
    docs: 'Implies --debug-mode. The banner prints the inspector\'s URL for Chrome DevTools or VS Code. When the application throws while handling a request (in the call, while its body is produced, or in its `close()`), an attached debugger pauses at the throw, with the exception and the application\'s frame on the stack, before the 500 is sent: mod_wsgi-express\'s post-mortem `pdb`, in Node\'s debugger. An exception the application catches itself does not pause, and without a debugger attached the request is answered as usual. The inspector listens on loopback only. docs/debugging.md shows the VS Code launch configuration.',
    schema: flag(),
  },
  {
    key: 'debuggerPort', flag: 'debugger-port', section: 'Debugging', kind: 'number', readBy: 'both',
    valueName: 'NUMBER', default: 9229,
    help: 'The port the inspector listens on, on 127.0.0.1 (0 picks a free port).',
    docs: 'Needs --enable-debugger. A port in use stops the server at start (exit 2). Every worker of a rolling reload takes the same port over once the old one lets go of it, so a debugger that re-attaches to the port (VS Code\'s `"restart": true`, Chrome\'s `chrome://inspect`) follows the reload.',
    schema: integer(0, 65535),
  },
  {
    key: 'debuggerStartup', flag: 'debugger-startup', section: 'Debugging', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'Wait for a debugger to attach, and pause, before the application is loaded.',
    docs: 'Needs --enable-debugger, as in mod_wsgi-express. The worker waits for a debugger (--startup-timeout does not apply), then pauses just before it loads the application, so breakpoints can be set in its files first. Workers started by a rolling reload do not wait.',
    schema: flag(),
  },
  {
    key: 'enableProfiler', flag: 'enable-profiler', section: 'Debugging', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'Record a V8 CPU profile of the application process, written as a .cpuprofile file when the server stops.',
    docs: 'Implies --debug-mode. The profile starts before the application is loaded and is written to --profiler-directory when the worker exits (at stop, or when a reload replaces it), as `TIME-PID.cpuprofile`, which Chrome DevTools (Performance panel) and VS Code open. SIGUSR2 sent to the server (the process you started) writes one at once without stopping, and profiling goes on from there. mod_wsgi-express writes cProfile `.pstats` files.',
    schema: flag(),
  },
  {
    key: 'profilerDirectory', flag: 'profiler-directory', section: 'Debugging', kind: 'string', readBy: 'both',
    valueName: 'DIR', defaultText: 'SERVER_ROOT/profiles',
    help: 'Where --enable-profiler writes its .cpuprofile files.',
    docs: 'Created if missing. A directory that cannot be written stops the server at start (exit 2).',
    schema: text('a directory'),
  },
  {
    key: 'enableCoverage', flag: 'enable-coverage', section: 'Debugging', kind: 'boolean', readBy: 'both',
    default: false,
    help: "Measure which lines of the application's own files run (V8 coverage), written as an HTML report when the server stops.",
    docs: 'Implies --debug-mode. Counts from before the application is loaded; only the application\'s files are reported (not `node_modules`, not tsgi-express), mapped back to their TypeScript sources through the source maps. The report (`index.html` in --coverage-directory, which the banner names) is written when the server stops; a reload starts counting afresh for the new code.',
    schema: flag(),
  },
  {
    key: 'coverageDirectory', flag: 'coverage-directory', section: 'Debugging', kind: 'string', readBy: 'both',
    valueName: 'DIR', defaultText: 'SERVER_ROOT/coverage',
    help: 'Where --enable-coverage writes its HTML report.',
    docs: 'Created if missing. A directory that cannot be written stops the server at start (exit 2). mod_wsgi-express names its default `htmlcov`.',
    schema: text('a directory'),
  },
  {
    key: 'enableRecorder', flag: 'enable-recorder', section: 'Debugging', kind: 'boolean', readBy: 'both',
    default: false,
    help: 'Save every request and its response (head, body, and any exception with its stack) as files, one set per request.',
    docs: 'Implies --debug-mode. The files are described in docs/debugging.md; `tsgi-express replay DIR --url URL` sends the recorded requests again and reports the responses that differ. Unlike mod_wsgi\'s recorder, applications that use `write()` keep working, and every interface is recorded.',
    schema: flag(),
  },
  {
    key: 'recorderDirectory', flag: 'recorder-directory', section: 'Debugging', kind: 'string', readBy: 'both',
    valueName: 'DIR', defaultText: 'SERVER_ROOT/archive',
    help: 'Where --enable-recorder writes its files.',
    docs: 'Created if missing. A directory that cannot be written stops the server at start (exit 2).',
    schema: text('a directory'),
  },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTIONS)[number]['key'];
