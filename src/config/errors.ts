// Config errors: always name the file and the line, `FILE:LINE: what is wrong`.

export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly detail: string;

  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}
