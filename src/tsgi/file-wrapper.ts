/**
 * tsgi.file_wrapper(pathOrHandle, blockSize?): a response body that streams a
 * file. The response writer recognises FileBody, adds Content-Length from the
 * file size when the app set none, and asks for exactly the bytes it will send,
 * so an app-set Content-Length shorter than the file is honoured without
 * reading past it. Anyone else (middleware) can simply iterate it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FileWrapper, FileWrapperBody } from '../index.js';

/** fs streams' own default; big enough to keep syscalls per MiB low. */
const DEFAULT_BLOCK = 64 * 1024;

export class FileBody implements FileWrapperBody {
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  private closed = false;

  constructor(
    private readonly file: string | FileHandle,
    private readonly blockSize: number,
  ) {
    if (typeof file !== 'string') this.handle = file;
  }

  /** The file's size in bytes (opens the file if given by path). */
  async size(): Promise<number> {
    const handle = await this.open();
    return (await handle.stat()).size;
  }

  /** A stream of the file's first `length` bytes (all of it without a length). */
  async stream(length?: number): Promise<Readable> {
    const handle = await this.open();
    return handle.createReadStream({
      start: 0,
      end: length === undefined ? undefined : length - 1,
      highWaterMark: this.blockSize,
      // close() owns the handle: a stream ending early must not close it under us.
      autoClose: false,
      emitClose: true,
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const stream = await this.stream();
    for await (const chunk of stream) yield chunk as Buffer;
  }

  /** Closes the file (the app's FileHandle too: the server owns it once returned). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const handle = this.handle ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    await handle?.close();
  }

  private open(): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new Error('tsgi.file_wrapper: body used after close()'));
    if (this.handle) return Promise.resolve(this.handle);
    this.opening ??= open(this.file as string, 'r').then((h) => (this.handle = h));
    return this.opening;
  }
}

export const fileWrapper: FileWrapper = (file, blockSize) => {
  if (typeof file !== 'string' && (typeof file !== 'object' || file === null || typeof file.fd !== 'number')) {
    throw new TypeError('tsgi.file_wrapper(file) needs a path string or a fs/promises FileHandle');
  }
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize <= 0)) {
    throw new RangeError(`tsgi.file_wrapper blockSize must be a positive integer, got ${blockSize}`);
  }
  return new FileBody(file, blockSize ?? DEFAULT_BLOCK);
};
