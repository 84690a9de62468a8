/** What a config value, a run's result or a job's summary may hold: stored as is and handed back as is. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
