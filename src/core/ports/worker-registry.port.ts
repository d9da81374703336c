/** A worker process as it last reported itself. */
export interface WorkerInfo {
  id: string;
  /** Host name of the machine it runs on. */
  node: string;
  pid: number;
  processors: string[];
  /** Ids of the jobs it runs now. */
  running: string[];
  startedAt: string;
  lastSeenAt: string;
}

/**
 * Live workers, for `GET /v1/workers` and the web UI: each worker reports itself at start and with
 * every heartbeat, and removes itself when it stops; one that vanished (kill -9) is simply not seen
 * again and ages out. Adapters: SQLite, PostgreSQL.
 */
export interface WorkerRegistry {
  beat(info: Omit<WorkerInfo, 'lastSeenAt'>): Promise<void>;
  /** Workers seen within `withinMs`, newest first. */
  list(withinMs: number): Promise<WorkerInfo[]>;
  remove(id: string): Promise<void>;
}
