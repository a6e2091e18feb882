/**
 * Structured logging: one JSON object per line, so logs from many nodes can be merged and filtered.
 * The level can be changed at run time (update-log-level); children share their parent's level and
 * its line observers (how `leofs shell`'s follow sees a node's log).
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger;
  setLevel(level: LogLevel): void;
  readonly level: LogLevel;
  /**
   * Calls `observer` with every line this logger and its family (parent and children) write, after
   * the level filter, until the returned function is called. An observer that throws is ignored: it
   * never keeps a line from the sink.
   */
  onLine(observer: LineObserver): () => void;
}

export type LogSink = (line: string) => void;
export type LineObserver = (line: string) => void;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** What a logger shares with its children. */
interface LoggerFamily {
  level: LogLevel;
  readonly observers: Set<LineObserver>;
}

class JsonLogger implements Logger {
  /**
   * `bindings` are this logger's own; its parent's are added as a line is written, not when the child
   * is made: the gateway makes a child per request, and most write nothing.
   */
  constructor(
    private readonly family: LoggerFamily,
    private readonly bindings: LogFields,
    private readonly sink: LogSink,
    private readonly now: () => number,
    private readonly parent?: JsonLogger,
  ) {}

  get level(): LogLevel {
    return this.family.level;
  }

  setLevel(level: LogLevel): void {
    this.family.level = level;
  }

  onLine(observer: LineObserver): () => void {
    // A wrapper per registration, so the same function registered twice is removed once per call.
    const entry: LineObserver = (line) => observer(line);
    this.family.observers.add(entry);
    return () => this.family.observers.delete(entry);
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  child(bindings: LogFields): Logger {
    return new JsonLogger(this.family, bindings, this.sink, this.now, this);
  }

  private write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (RANK[level] < RANK[this.family.level]) return;
    const record: Record<string, unknown> = { t: new Date(this.now()).toISOString(), level, msg: message };
    this.addBindings(record);
    if (fields) for (const [name, value] of Object.entries(fields)) record[name] = serializable(value);
    const line = JSON.stringify(record);
    this.sink(line);
    for (const observer of this.family.observers) {
      try {
        observer(line);
      } catch {
        // Logging must not fail because of someone watching it.
      }
    }
  }

  /** The bindings of this logger's ancestors, then its own (a child's binding wins over its parent's). */
  private addBindings(record: Record<string, unknown>): void {
    this.parent?.addBindings(record);
    Object.assign(record, this.bindings);
  }
}

/**
 * An info line written at any log level: what supervisors (leofs dev, process managers) wait for, such
 * as the address a node or a listener bound.
 */
export function logAtAnyLevel(logger: Logger, message: string, fields: LogFields): void {
  const level = logger.level;
  if (level === 'debug' || level === 'info') return logger.info(message, fields);
  logger.setLevel('info');
  logger.info(message, fields);
  logger.setLevel(level);
}

function serializable(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly bindings?: LogFields;
  readonly sink?: LogSink;
  readonly now?: () => number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  return new JsonLogger({ level: options.level ?? 'info', observers: new Set() }, options.bindings ?? {}, sink, options.now ?? Date.now);
}

/** Collects lines in memory: for tests that assert on what was logged. */
export function memoryLogger(level: LogLevel = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level, sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}
