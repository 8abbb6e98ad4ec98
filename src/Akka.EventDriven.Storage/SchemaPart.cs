using System.Data.Common;

namespace Akka.EventDriven.Storage;

/// <summary>A group of tables that is created together, with its DDL for each provider. Every statement is
/// <c>IF NOT EXISTS</c>, so creating a part that exists already changes nothing.</summary>
public sealed class SchemaPart
{
    private SchemaPart(string name, string postgreSql, string sqlite) => (Name, PostgreSql, Sqlite) = (name, postgreSql, sqlite);

    /// <summary>The part's name (also its key in the memo of <see cref="Schema.EnsureAsync"/>).</summary>
    public string Name { get; }

    internal string PostgreSql { get; }

    internal string Sqlite { get; }

    internal string Ddl(StoreProvider provider) => provider == StoreProvider.PostgreSql ? PostgreSql : Sqlite;

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The event journal (<c>event_journal</c>, <c>tags</c>) and, on PostgreSQL, <c>snapshot_store</c>: the
    /// tables and column names of Akka.Persistence.Sql's mappings, so that its read journal, snapshot store and journal
    /// can use them, and so that either journal can open the other's database.</summary>
    public static SchemaPart Journal { get; } = new("journal", """
        -- The tables and column names of Akka.Persistence.Sql's postgresql mapping, so that its read journal and its own
        -- journal can use them. Created here with only the indexes reads need: the journal's primary key and
        -- (persistence_id, sequence_nr), and tags by (tag, ordering_id) for EventsByTag. Existing tables are left as they are.
        -- The snapshot table is created here too, under the same lock, so that nodes starting together on an empty
        -- database do not race each other's snapshot-store initialisation.
        -- A statement trigger gives every inserting transaction (this journal's, Akka.Persistence.Sql's, anyone's) its
        -- transaction id before the statement takes an ordering from the identity sequence: statement triggers run before
        -- the first row is formed, so a transaction holding an ordering always has an id assigned no later than it. The
        -- projections' reader relies on that to tell a hole that may still fill from one that is final (JournalReader);
        -- created only if missing, so a restart takes no lock on a busy table.
        CREATE TABLE IF NOT EXISTS event_journal (
          ordering bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT "PK_event_journal" PRIMARY KEY,
          created_at bigint NOT NULL,
          is_deleted boolean NOT NULL,
          persistence_id text NOT NULL,
          sequence_nr bigint NOT NULL,
          payload bytea NOT NULL,
          manifest text,
          serializer_id integer,
          CONSTRAINT event_journal_uq UNIQUE (persistence_id, sequence_nr));
        CREATE TABLE IF NOT EXISTS tags (
          ordering_id bigint NOT NULL,
          tag text NOT NULL,
          sequence_nr bigint NOT NULL,
          persistence_id text NOT NULL,
          CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag));
        CREATE INDEX IF NOT EXISTS tags_tag_ordering_idx ON tags (tag, ordering_id);
        DO $do$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'event_journal_xid_first' AND tgrelid = 'event_journal'::regclass) THEN
            CREATE OR REPLACE FUNCTION event_journal_xid_first() RETURNS trigger LANGUAGE plpgsql
              AS $f$ BEGIN PERFORM pg_current_xact_id(); RETURN NULL; END $f$;
            CREATE TRIGGER event_journal_xid_first BEFORE INSERT ON event_journal
              FOR EACH STATEMENT EXECUTE FUNCTION event_journal_xid_first();
          END IF;
        END $do$;
        CREATE TABLE IF NOT EXISTS snapshot_store (
          persistence_id text NOT NULL,
          sequence_nr bigint NOT NULL,
          created_at bigint NOT NULL,
          payload bytea,
          manifest text,
          serializer_id integer,
          CONSTRAINT "PK_snapshot_store" PRIMARY KEY (persistence_id, sequence_nr));
        """, """
        -- Same DDL as Akka.Persistence.Sql's sqlite mapping creates.
        CREATE TABLE IF NOT EXISTS [event_journal] (
          [ordering] INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
          [timestamp] INTEGER NOT NULL,
          [is_deleted] Bit NOT NULL,
          [persistence_id] NVarChar(255) NOT NULL,
          [sequence_nr] INTEGER NOT NULL,
          [payload] VarBinary NOT NULL,
          [manifest] NVarChar(500) NULL,
          [serializer_id] INTEGER NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS event_journal_uq ON event_journal (persistence_id, sequence_nr);
        CREATE TABLE IF NOT EXISTS [tags] (
          [ordering_id] INTEGER NOT NULL,
          [tag] NVarChar(64) NOT NULL,
          [sequence_nr] INTEGER NOT NULL,
          [persistence_id] NVarChar(255) NOT NULL,
          CONSTRAINT [PK_tags] PRIMARY KEY ([ordering_id], [tag]));
        CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
        """);

    /// <summary>The event bus's tables: consumer offsets (<c>bus_offsets</c>) and dead letters
    /// (<c>bus_dead_letters</c>).</summary>
    public static SchemaPart Bus { get; } = new("bus", """
        CREATE TABLE IF NOT EXISTS bus_offsets (
            consumer_id TEXT PRIMARY KEY, sequence_nr BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS bus_dead_letters (
            id BIGSERIAL PRIMARY KEY, queue TEXT NOT NULL, message_id TEXT NOT NULL,
            source_kind TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
            published_at BIGINT NOT NULL, correlation_id TEXT, headers TEXT, reason TEXT NOT NULL,
            attempts INT NOT NULL, subscriber TEXT NOT NULL, dead_lettered_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE INDEX IF NOT EXISTS bus_dead_letters_queue ON bus_dead_letters (queue, id);
        """, """
        CREATE TABLE IF NOT EXISTS bus_offsets (
            consumer_id TEXT PRIMARY KEY, sequence_nr INTEGER NOT NULL, updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
        CREATE TABLE IF NOT EXISTS bus_dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL,
            source_kind TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
            published_at INTEGER NOT NULL, correlation_id TEXT, headers TEXT, reason TEXT NOT NULL,
            attempts INTEGER NOT NULL, subscriber TEXT NOT NULL, dead_lettered_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
        CREATE INDEX IF NOT EXISTS bus_dead_letters_queue ON bus_dead_letters (queue, id);
        """);

    /// <summary>The projections' tables: offsets (<c>projection_offsets</c>, one row per projection and key, with a
    /// heartbeat) and the events they dead-lettered (<c>projection_dead_letters</c>).</summary>
    public static SchemaPart Projections { get; } = new("projections", ProjectionsDdl, ProjectionsDdl);

    private const string ProjectionsDdl = """
        CREATE TABLE IF NOT EXISTS projection_offsets (
          projection_name text NOT NULL,
          projection_key text NOT NULL,
          current_offset bigint NOT NULL,
          updated_at bigint NOT NULL,
          PRIMARY KEY (projection_name, projection_key));
        CREATE TABLE IF NOT EXISTS projection_dead_letters (
          projection_name text NOT NULL,
          projection_key text NOT NULL,
          event_offset bigint NOT NULL,
          persistence_id text NOT NULL,
          sequence_nr bigint NOT NULL,
          type_name text NOT NULL,
          error text NOT NULL,
          failed_at bigint NOT NULL,
          PRIMARY KEY (projection_name, projection_key, event_offset));
        """;

    /// <summary>The saga index: one row per running saga (<c>saga_id</c>, <c>saga_name</c>, <c>since_ms</c>) in the
    /// table named <paramref name="table"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="table"/> is not a plain SQL identifier (letters, digits
    /// and underscores, optionally schema-qualified).</exception>
    public static SchemaPart SagaIndex(string table)
    {
        SqlNames.Validate(table);
        var ddl = $"CREATE TABLE IF NOT EXISTS {table} (saga_id TEXT PRIMARY KEY, saga_name TEXT NOT NULL, since_ms BIGINT NOT NULL);";
        return new SchemaPart($"saga-index:{table}", ddl, ddl);
    }
}
