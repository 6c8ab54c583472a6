/**
 * Public API: the TSGI 1.0 types applications code against (docs/tsgi.md), and
 * the error a failed request body rejects reads with. Importing this module
 * starts nothing.
 */

/** A response body chunk: bytes, or a string sent as UTF-8. */
export type Chunk = Uint8Array | string;

/** What an application returns (or resolves to). */
export type Body = Chunk | Iterable<Chunk> | AsyncIterable<Chunk>;

/** A response header: [name, value]; names may repeat. */
export type Header = readonly [name: string, value: string];

export type Write = (chunk: Chunk) => void;

export type StartResponse = (status: string, headers: readonly Header[], excInfo?: Error) => Write;

export { isRequestBodyError, RequestBodyError, type RequestBodyErrorCode } from './errors.js';

/** tsgi.input: the request body, read as a stream or with read(size?). */
export interface Input extends AsyncIterable<Uint8Array> {
  /** Without a size: the rest of the body. With a size: up to that many bytes (fewer only at the end). */
  read(size?: number): Promise<Uint8Array>;
}

/** tsgi.errors: text written here goes to the error log, tagged with the request id and worker pid. */
export interface ErrorStream {
  write(text: string): void;
  flush(): void;
}

export interface FileWrapperBody extends AsyncIterable<Uint8Array> {
  close(): Promise<void>;
}

export type FileWrapper = (
  file: string | import('node:fs/promises').FileHandle,
  blockSize?: number,
) => FileWrapperBody;

export interface Environ {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  REQUEST_URI: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  REMOTE_PORT: string;
  /** The authenticated user (--auth-user-script, --auth-user-file, --auth-digest-file), as the check named it. */
  REMOTE_USER?: string;
  /** 'Basic' or 'Digest' when REMOTE_USER is set. */
  AUTH_TYPE?: 'Basic' | 'Digest';
  /** `on` when tsgi.url_scheme is https (TLS, or a trusted proxy said so); absent otherwise. */
  HTTPS?: 'on';
  'tsgi.version': readonly [1, 0];
  'tsgi.url_scheme': 'http' | 'https';
  'tsgi.input': Input;
  'tsgi.errors': ErrorStream;
  'tsgi.multithread': boolean;
  'tsgi.multiprocess': boolean;
  'tsgi.run_once': false;
  'tsgi.input_terminated': true;
  'tsgi.file_wrapper': FileWrapper;
  /**
   * Aborts when the request is abandoned before the application has finished
   * it: the client went away, or it ran past --request-timeout (the reason is
   * then a `RequestTimeoutError`). An accessor: read it from this environ, not
   * from a copy made with `{ ...environ }`.
   */
  readonly 'tsgi.signal': AbortSignal;
  'tsgi_express.version': string;
  'tsgi_express.process_id': number;
  'tsgi_express.request_id': string;
  'tsgi_express.request_start': number;
  'tsgi_express.script_name': string;
  'tsgi_express.debug_mode': boolean;
  /** The SCRIPT_NAME a trusted X-Script-Name (or X-Forwarded-Script-Name) set; absent otherwise. */
  'tsgi_express.mount_point'?: string;
  /** HTTP_* request headers, --setenv/--passenv values. */
  [key: string]: unknown;
}

export type Application = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>;

declare module 'node:http' {
  interface IncomingMessage {
    /** Node interface: the request target as the client sent it, mount point included. */
    originalUrl?: string;
    /** Node interface: the TSGI environ of this request, built on first use. */
    readonly environ?: Environ;
    /** Node interface: the authenticated user (REMOTE_USER), set when the request passed --auth-* checks. */
    remoteUser?: string;
    /** Node interface: 'Basic' or 'Digest' when remoteUser is set (AUTH_TYPE). */
    authType?: 'Basic' | 'Digest';
  }
}

export { defineConfig, type AppEntry, type ConfigOptions, type TsgiExpressConfig } from './config/define-config.js';
