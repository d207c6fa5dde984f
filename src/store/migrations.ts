// The schema of the local SQLite database, as numbered migrations. PRAGMA user_version holds
// the number of the last one applied. Append new migrations; never edit an applied one.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "meta",
    sql: `
      -- Facts about this data dir: which mode created it, its node name, when.
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
];
