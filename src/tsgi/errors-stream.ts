/**
 * tsgi.errors: like mod_wsgi's wsgi.errors, text written here lands in the error
 * log at level 'error', one record per line, tagged with the request id. Partial
 * lines wait for their newline or flush(); the server flushes at request end.
 */
import type { ErrorStream } from '../index.js';
import type { Log } from '../logging/log.js';

export class RequestErrorStream implements ErrorStream {
  private pending = '';

  constructor(
    private readonly log: Log,
    private readonly rid: string,
  ) {}

  write(text: string): void {
    let data = this.pending + String(text);
    let nl = data.indexOf('\n');
    while (nl >= 0) {
      this.emit(data.slice(0, nl));
      data = data.slice(nl + 1);
      nl = data.indexOf('\n');
    }
    this.pending = data;
  }

  flush(): void {
    if (this.pending === '') return;
    const line = this.pending;
    this.pending = '';
    this.emit(line);
  }

  private emit(line: string): void {
    // A trailing CR comes from '\r\n' line ends; the log adds its own.
    this.log.error(line.endsWith('\r') ? line.slice(0, -1) : line, this.rid);
  }
}

export function createErrorStream(log: Log, rid: string): RequestErrorStream {
  return new RequestErrorStream(log, rid);
}
