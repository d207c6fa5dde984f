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
  {
    version: 2,
    name: "control plane",
    sql: `
      -- CLOUD: desired state. One row per object; spec and labels are JSON.
      CREATE TABLE resources (
        kind             TEXT NOT NULL,
        name             TEXT NOT NULL,
        uid              TEXT NOT NULL,
        generation       INTEGER NOT NULL,      -- grows when the spec changes
        resource_version INTEGER NOT NULL,      -- cloud-wide counter at the last change
        labels           TEXT NOT NULL DEFAULT '{}',
        spec             TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      ) STRICT;

      -- CLOUD: joined nodes. The password is stored only as a PBKDF2-SHA512 hash in Mosquitto's
      -- format, so the same hash serves the embedded broker and a generated Mosquitto file.
      CREATE TABLE nodes (
        name               TEXT PRIMARY KEY,
        uid                TEXT NOT NULL,
        labels             TEXT NOT NULL DEFAULT '{}',
        addresses          TEXT NOT NULL DEFAULT '[]',
        mqtt_password_hash TEXT NOT NULL,
        agent_version      TEXT NOT NULL DEFAULT '',
        arch               TEXT NOT NULL DEFAULT '',
        boot_id            TEXT NOT NULL DEFAULT '',
        joined_at          TEXT NOT NULL,
        last_seen          TEXT,
        online             INTEGER NOT NULL DEFAULT 0,
        phase              TEXT NOT NULL DEFAULT 'Disconnected',
        phase_since        TEXT NOT NULL
      ) STRICT;

      -- CLOUD: join tokens; only a hash of the secret is kept.
      CREATE TABLE join_tokens (
        id          TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        expires_at  TEXT NOT NULL,
        uses_left   INTEGER NOT NULL,
        created_at  TEXT NOT NULL
      ) STRICT;

      -- CLOUD: each node's plan (desired) and what the node acknowledged (applied).
      CREATE TABLE plans (
        node             TEXT PRIMARY KEY,
        revision         INTEGER NOT NULL,
        hash             TEXT NOT NULL,
        plan             TEXT NOT NULL,
        applied_revision INTEGER NOT NULL DEFAULT 0,
        applied_hash     TEXT NOT NULL DEFAULT '',
        sent_at          TEXT,
        acked_at         TEXT
      ) STRICT;

      -- CLOUD: the latest status of every worker, as reported by its node.
      CREATE TABLE worker_status (
        service    TEXT NOT NULL,
        node       TEXT NOT NULL,
        idx        INTEGER NOT NULL,
        phase      TEXT NOT NULL,
        ready      INTEGER NOT NULL,
        restarts   INTEGER NOT NULL,
        message    TEXT NOT NULL DEFAULT '',
        exit_code  INTEGER,
        signal     TEXT,
        since      TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (service, node, idx)
      ) STRICT;

      -- CLOUD: what happened, for GET /api/v1/events and ctl describe.
      CREATE TABLE events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        ts      TEXT NOT NULL,
        kind    TEXT NOT NULL,
        name    TEXT NOT NULL,
        reason  TEXT NOT NULL,
        message TEXT NOT NULL
      ) STRICT;

      -- EDGE (every node, the cloud included): the plan this node runs, one row.
      CREATE TABLE node_plan (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        epoch       TEXT NOT NULL,
        revision    INTEGER NOT NULL,
        hash        TEXT NOT NULL,
        plan        TEXT NOT NULL,
        received_at TEXT NOT NULL
      ) STRICT;

      -- EDGE: worker status waiting to be acknowledged by the cloud, coalesced per worker.
      CREATE TABLE status_outbox (
        service  TEXT NOT NULL,
        idx      INTEGER NOT NULL,
        status   TEXT NOT NULL,          -- JSON of the status message entry
        version  INTEGER NOT NULL,       -- grows with every change of this row
        sent_seq INTEGER,                -- seq of the status message that last carried it
        sent_version INTEGER,            -- version carried in that message
        PRIMARY KEY (service, idx)
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: "local manager",
    sql: `
      -- EDGE: one row per worker this node runs or ran (service, idx); the supervisor's memory
      -- across agent restarts. An instance is one start of a worker: its id is the marker the
      -- worker carries (LEVEE_WORKER_ID) so that a restarted agent finds it again.
      CREATE TABLE workers (
        service       TEXT NOT NULL,
        idx           INTEGER NOT NULL,
        generation    INTEGER NOT NULL,        -- of the service spec the instance runs
        spec_hash     TEXT NOT NULL,           -- canonical hash of what the instance was started with
        driver        TEXT NOT NULL,           -- exec | container
        instance      TEXT,                    -- id of the running instance, NULL when none runs
        pid           INTEGER,                 -- exec: the process group leader
        pid_start     TEXT,                    -- exec: start time of pid (/proc/PID/stat field 22)
        container_id  TEXT,                    -- container: the Docker container id
        port          INTEGER,                 -- the port the worker listens on, if any
        phase         TEXT NOT NULL,
        ready         INTEGER NOT NULL DEFAULT 0,
        restarts      INTEGER NOT NULL DEFAULT 0,
        message       TEXT NOT NULL DEFAULT '',
        exit_code     INTEGER,
        signal        TEXT,
        started_at    TEXT,
        since         TEXT NOT NULL,           -- when phase last changed
        PRIMARY KEY (service, idx)
      ) STRICT;

      -- CLOUD: uploaded artifacts; the bytes are in <data-dir>/artifacts/<sha256>.
      CREATE TABLE artifacts (
        sha256     TEXT PRIMARY KEY,
        name       TEXT NOT NULL DEFAULT '',
        size       INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      -- EDGE: artifacts in this node's cache (<data-dir>/cache/artifacts/<sha256>), verified.
      CREATE TABLE artifact_cache (
        sha256    TEXT PRIMARY KEY,
        size      INTEGER NOT NULL,
        fetched_at TEXT NOT NULL,
        last_used TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: "mesh",
    sql: `
      -- EVERY NODE: the mesh catalog it routes with (one row; see src/mesh/catalog/).
      CREATE TABLE catalog (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        epoch       TEXT NOT NULL,
        revision    INTEGER NOT NULL,
        body        TEXT NOT NULL,
        received_at TEXT NOT NULL
      ) STRICT;

      -- CLOUD: the generation of the service spec each worker reported running.
      ALTER TABLE worker_status ADD COLUMN generation INTEGER;

      -- CLOUD: the tunnel port each node reported (agent-to-agent mesh traffic).
      ALTER TABLE nodes ADD COLUMN tunnel_port INTEGER;

      -- CLOUD: the mesh routes each node reported: pending, applied, failed, removed.
      CREATE TABLE route_status (
        node       TEXT NOT NULL,
        service    TEXT NOT NULL,
        kind       TEXT NOT NULL,          -- service-port | upstream
        port       INTEGER NOT NULL,
        state      TEXT NOT NULL,
        message    TEXT NOT NULL DEFAULT '',
        since      TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (node, service, kind, port)
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: "dayu",
    sql: `
      -- CLOUD: the mesh port allocated to each service translated from a Dayu object without a
      -- nodePort (30000-32767). Kept when the object is deleted, so that Dayu's delete-and-create
      -- redeployments keep their port; reclaimed (oldest first) only when the range runs out.
      CREATE TABLE dayu_ports (
        service      TEXT PRIMARY KEY,
        port         INTEGER NOT NULL UNIQUE,
        allocated_at TEXT NOT NULL,
        used_at      TEXT NOT NULL
      ) STRICT;

      -- CLOUD: which object created which (a Service made from a JointMultiEdgeService): deleting
      -- or changing the owner removes exactly what it created.
      CREATE TABLE owned_resources (
        kind       TEXT NOT NULL,
        name       TEXT NOT NULL,
        owner_kind TEXT NOT NULL,
        owner_name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      ) STRICT;
      CREATE INDEX owned_resources_owner ON owned_resources (owner_kind, owner_name);
    `,
  },
  {
    version: 6,
    name: "node-roles",
    sql: `
      -- CLOUD: a node's role comes from how it joined (the cloud registers itself; every other
      -- node joins over the API as an edge), never from the labels it sent. Labels under levee.io/
      -- are the cloud's: they are shown from the role and no longer stored with the node's own.
      ALTER TABLE nodes ADD COLUMN role TEXT NOT NULL DEFAULT 'edge' CHECK (role IN ('cloud', 'edge'));
      UPDATE nodes SET role = 'cloud' WHERE name = (SELECT value FROM meta WHERE key = 'node-name')
        AND EXISTS (SELECT 1 FROM meta WHERE key = 'mode' AND value = 'cloud');
      UPDATE nodes SET labels = (
        SELECT json_group_object(key, value) FROM json_each(nodes.labels) WHERE key NOT LIKE 'levee.io/%'
      );
    `,
  },
  {
    version: 7,
    name: "plan limits and config content",
    sql: `
      -- CLOUD: services the planner could not put on a node without crossing one of its limits
      -- (services or workers per node, the size of one sync message): pending, with the reason.
      CREATE TABLE unplaced_workers (
        service TEXT NOT NULL,
        node    TEXT NOT NULL,
        workers INTEGER NOT NULL,
        reason  TEXT NOT NULL,
        since   TEXT NOT NULL,
        PRIMARY KEY (service, node)
      ) STRICT;

      -- EDGE (every node): the bytes of the Config files its plan references, verified by sha256;
      -- fetched from the cloud (GET /api/v1/config-content/SHA), kept for offline restarts.
      CREATE TABLE config_content (
        sha256     TEXT PRIMARY KEY,
        content    BLOB NOT NULL,
        fetched_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: "namespaces",
    sql: `
      -- CLOUD: every object has a namespace ('' for cluster-wide kinds: Node, ImageMap, Namespace)
      -- and is stored under its key: its name in 'default', '<name>.<namespace>' in any other
      -- (src/manifest/namespace.ts). Before, a Dayu object kept its namespace only in its spec and
      -- one with the same name in another namespace replaced it: each now moves to its namespace,
      -- with the Service it made, its ownership records and its kept mesh port.
      ALTER TABLE resources ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
      UPDATE resources SET namespace = '' WHERE kind IN ('Node', 'ImageMap', 'Namespace');
      UPDATE resources SET namespace = coalesce(json_extract(spec, '$.namespace'), 'default')
        WHERE kind IN ('JointMultiEdgeService', 'RuntimeService');
      UPDATE resources SET namespace = (
          SELECT o.namespace FROM owned_resources w
          JOIN resources o ON o.kind = w.owner_kind AND o.name = w.owner_name
          WHERE w.kind = resources.kind AND w.name = resources.name)
        WHERE EXISTS (SELECT 1 FROM owned_resources w WHERE w.kind = resources.kind AND w.name = resources.name);
      UPDATE dayu_ports SET service = service || '.' || (
          SELECT namespace FROM resources WHERE kind = 'Service' AND name = dayu_ports.service)
        WHERE EXISTS (SELECT 1 FROM resources WHERE kind = 'Service' AND name = dayu_ports.service
          AND namespace NOT IN ('default', ''));
      UPDATE owned_resources SET
          name = name || '.' || (SELECT namespace FROM resources r WHERE r.kind = owner_kind AND r.name = owner_name),
          owner_name = owner_name || '.' || (SELECT namespace FROM resources r WHERE r.kind = owner_kind AND r.name = owner_name)
        WHERE EXISTS (SELECT 1 FROM resources r WHERE r.kind = owner_kind AND r.name = owner_name
          AND r.namespace NOT IN ('default', ''));
      UPDATE resources SET name = name || '.' || namespace WHERE namespace NOT IN ('default', '');
      -- Namespaces are objects of their own: 'default' always, and every other one objects are in.
      INSERT INTO resources (kind, name, uid, generation, resource_version, labels, spec, created_at, updated_at, namespace)
        VALUES ('Namespace', 'default', lower(hex(randomblob(16))), 1, 0, '{}', '{}',
          strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), '');
      INSERT OR IGNORE INTO resources (kind, name, uid, generation, resource_version, labels, spec, created_at, updated_at, namespace)
        SELECT DISTINCT 'Namespace', namespace, lower(hex(randomblob(16))), 1,
          (SELECT coalesce(max(resource_version), 0) FROM resources), '{}', '{}',
          strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ''
        FROM resources WHERE namespace NOT IN ('default', '');
      CREATE INDEX resources_namespace ON resources (kind, namespace);
    `,
  },
  {
    version: 9,
    name: "usage",
    sql: `
      -- EDGE (every node): the latest CPU and memory this node and each of its running workers
      -- used, measured by the agent (src/node/usage/): CPU as a rate over the window between two
      -- samples, memory at the sample. Replaced whole at every sample.
      CREATE TABLE usage_node (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        cpu_nanocores   INTEGER NOT NULL,
        memory_bytes    INTEGER NOT NULL,
        cpus            INTEGER NOT NULL,       -- capacity: CPUs online
        memory_capacity INTEGER NOT NULL,       -- capacity: MemTotal, bytes
        window_seconds  REAL NOT NULL,
        sampled_at      TEXT NOT NULL
      ) STRICT;
      CREATE TABLE usage_workers (
        service        TEXT NOT NULL,
        idx            INTEGER NOT NULL,
        cpu_nanocores  INTEGER NOT NULL,
        memory_bytes   INTEGER NOT NULL,
        window_seconds REAL NOT NULL,
        sampled_at     TEXT NOT NULL,
        PRIMARY KEY (service, idx)
      ) STRICT;

      -- CLOUD: the latest usage each node reported with its heartbeat (at most every 30 s); the
      -- rows of a node go with it.
      CREATE TABLE node_usage (
        node            TEXT PRIMARY KEY REFERENCES nodes (name) ON DELETE CASCADE,
        cpu_nanocores   INTEGER NOT NULL,
        memory_bytes    INTEGER NOT NULL,
        cpus            INTEGER NOT NULL,
        memory_capacity INTEGER NOT NULL,
        window_seconds  REAL NOT NULL,
        sampled_at      TEXT NOT NULL,
        received_at     TEXT NOT NULL
      ) STRICT;
      CREATE TABLE worker_usage (
        service        TEXT NOT NULL,
        node           TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
        idx            INTEGER NOT NULL,
        cpu_nanocores  INTEGER NOT NULL,
        memory_bytes   INTEGER NOT NULL,
        window_seconds REAL NOT NULL,
        sampled_at     TEXT NOT NULL,
        PRIMARY KEY (service, node, idx)
      ) STRICT;
      CREATE INDEX worker_usage_node ON worker_usage (node);
    `,
  },
  {
    version: 10,
    name: "worker restarts",
    sql: `
      -- CLOUD: restarts requested for one worker (levee ctl restart, a Pod deleted through the
      -- Kubernetes API): the count goes into that worker's entry of its node's plan, so the request
      -- is desired state and reaches a node that is offline when it is made. Rows of a service or
      -- node that no longer exists are deleted at the next re-plan.
      CREATE TABLE worker_restarts (
        service      TEXT NOT NULL,
        node         TEXT NOT NULL,
        idx          INTEGER NOT NULL,
        count        INTEGER NOT NULL,
        requested_at TEXT NOT NULL,
        PRIMARY KEY (service, node, idx)
      ) STRICT;

      -- EDGE (every node): the restart count of the plan the worker's current (or last) instance
      -- was started for; a plan with another count replaces the instance.
      ALTER TABLE workers ADD COLUMN restart_request INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 11,
    name: "kube tokens",
    sql: `
      -- EVERY NODE: the Kubernetes API tokens of this node's workers (template kubeApi), one per
      -- instance; only the token's sha256 is kept (src/node/kube-access/worker-tokens.ts). A token
      -- names its worker only while that instance is the worker's current one (workers.instance),
      -- and its row goes as soon as it is not: the instance stopped, was replaced or restarted, or
      -- the worker left the plan.
      CREATE TABLE kube_tokens (
        token_hash      TEXT PRIMARY KEY,
        service         TEXT NOT NULL,         -- the service's key (name, or name.namespace)
        idx             INTEGER NOT NULL,
        instance        TEXT NOT NULL,
        namespace       TEXT NOT NULL,
        service_account TEXT NOT NULL,
        node            TEXT NOT NULL,
        issued_at       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX kube_tokens_worker ON kube_tokens (service, idx);
      CREATE TRIGGER kube_tokens_instance_changed AFTER UPDATE OF instance ON workers
        WHEN NEW.instance IS NOT OLD.instance
      BEGIN
        DELETE FROM kube_tokens WHERE service = NEW.service AND idx = NEW.idx
          AND instance IS NOT NEW.instance;
      END;
      CREATE TRIGGER kube_tokens_worker_removed AFTER DELETE ON workers
      BEGIN
        DELETE FROM kube_tokens WHERE service = OLD.service AND idx = OLD.idx;
      END;
    `,
  },
  {
    version: 12,
    name: "node certificates",
    sql: `
      -- CLOUD: every mesh certificate the cloud's CA issued (src/cloud/node-certificates.ts), by the
      -- SHA-256 of its DER. Deleting a node revokes its certificates (revoked_at); the revoked ones
      -- not yet expired go to every node in the mesh catalog. A row goes once its certificate expired.
      CREATE TABLE node_certificates (
        fingerprint TEXT PRIMARY KEY,
        node        TEXT NOT NULL,
        issued_at   TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        revoked_at  TEXT
      ) STRICT;
      CREATE INDEX node_certificates_node ON node_certificates (node);
      CREATE INDEX node_certificates_revoked ON node_certificates (expires_at) WHERE revoked_at IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: "object history",
    sql: `
      -- CLOUD: the specs of the last generations of each Service and Dayu object (the newest N,
      -- --history-limit), for levee ctl rollout history and rollout undo
      -- (src/cloud/history-store.ts). Gone with the object. Seeded with every such object's current
      -- generation.
      CREATE TABLE object_history (
        kind       TEXT NOT NULL,
        name       TEXT NOT NULL,           -- the object's key (as resources.name)
        generation INTEGER NOT NULL,
        spec       TEXT NOT NULL,           -- JSON, as resources.spec at that generation
        applied_at TEXT NOT NULL,
        PRIMARY KEY (kind, name, generation)
      ) STRICT;
      INSERT INTO object_history (kind, name, generation, spec, applied_at)
        SELECT kind, name, generation, spec, updated_at FROM resources
        WHERE kind IN ('Service', 'JointMultiEdgeService', 'RuntimeService');
      CREATE TRIGGER object_history_gone AFTER DELETE ON resources
      BEGIN
        DELETE FROM object_history WHERE kind = OLD.kind AND name = OLD.name;
      END;
    `,
  },
  {
    version: 14,
    name: "node scheduling",
    sql: `
      -- CLOUD: whether the planner may put new nodeSelector workers on a node (levee ctl
      -- cordon/uncordon/drain, src/cloud/drain.ts): 'enabled', 'cordoned' (no new ones,
      -- the running ones stay) or 'draining' (its selector workers go once the other matching nodes'
      -- are ready). Workers pinned by name (node: X) are placed whatever this says.
      ALTER TABLE nodes ADD COLUMN scheduling TEXT NOT NULL DEFAULT 'enabled'
        CHECK (scheduling IN ('enabled', 'cordoned', 'draining'));
    `,
  },
  {
    version: 15,
    name: "container images",
    sql: `
      -- CLOUD: container images stored as artifacts (levee ctl image push, src/cloud/image-store.ts):
      -- each reference a pushed \`docker save\` tarball carries (repo:tag, normalized) maps to the
      -- artifact holding the tarball and to the image's ID. A node whose workers run the image gets
      -- it in its plan and loads it into its Docker.
      CREATE TABLE images (
        reference  TEXT PRIMARY KEY,        -- e.g. repo:5000/dayuhub/camera:v1, or sha256:ID
        image_id   TEXT NOT NULL,           -- sha256:<hex>, Docker's image ID
        sha256     TEXT NOT NULL,           -- the artifact (the tarball)
        size       INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX images_by_artifact ON images (sha256);
    `,
  },
  {
    version: 16,
    name: "staging and download bandwidth",
    sql: `
      -- CLOUD: the cap on a node's artifact downloads, bytes/s (levee ctl node set-bandwidth); NULL:
      -- none (the node's own --download-bandwidth, if any, applies). Goes to the node in its plan.
      ALTER TABLE nodes ADD COLUMN download_bandwidth INTEGER CHECK (download_bandwidth > 0);
      -- CLOUD: what each node reported of a staged generation it fetches (src/cloud/staging-store.ts):
      -- one row per node and service, the latest report; the planner holds a staged service's new
      -- generation back on a node until the rows say it may switch (staging-hold.ts).
      CREATE TABLE staging_reports (
        node        TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
        service     TEXT NOT NULL,
        generation  INTEGER NOT NULL,
        fetched     INTEGER NOT NULL,
        total       INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('fetching', 'ready', 'failed')),
        message     TEXT NOT NULL DEFAULT '',
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (node, service)
      ) STRICT;
    `,
  },
  {
    version: 17,
    name: "agent upgrades",
    sql: `
      -- CLOUD: agent upgrade rollouts (levee ctl upgrade, src/cloud/upgrade/): at most one runs or
      -- is paused at a time. binaries: JSON [{target, sha256, size, signature}] (the artifacts and
      -- the cloud's signature of each); max_unavailable: "N" or "P%"; batch_open: a batch was
      -- ordered and has nodes in progress; batch_ended_at (ms): when the last batch ended (--pause).
      CREATE TABLE upgrade_rollouts (
        id              TEXT PRIMARY KEY,
        version         TEXT NOT NULL,
        binaries        TEXT NOT NULL,
        key_id          TEXT NOT NULL,
        selector        TEXT NOT NULL DEFAULT '',
        max_unavailable TEXT NOT NULL,
        pause_ms        INTEGER NOT NULL,
        timeout_seconds INTEGER NOT NULL,
        allow_downgrade INTEGER NOT NULL,
        include_cloud   INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('running', 'paused', 'done', 'failed', 'aborted')),
        reason          TEXT NOT NULL DEFAULT '',
        batch_open      INTEGER NOT NULL DEFAULT 0,
        batch_ended_at  INTEGER,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      ) STRICT;

      -- CLOUD: each node of a rollout, in the order it is upgraded (position; the cloud's own node
      -- last). ordered_at (ms): when its order was last sent.
      CREATE TABLE upgrade_nodes (
        rollout      TEXT NOT NULL REFERENCES upgrade_rollouts(id) ON DELETE CASCADE,
        node         TEXT NOT NULL,
        position     INTEGER NOT NULL,
        state        TEXT NOT NULL,
        from_version TEXT NOT NULL DEFAULT '',
        reason       TEXT NOT NULL DEFAULT '',
        ordered_at   INTEGER,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (rollout, node)
      ) STRICT;
    `,
  },
];
