using Akka.Configuration;
using Npgsql;

namespace Akka.EventDriven.Storage;

/// <summary>Where and how events are stored; turns into the Akka.Persistence.Sql journal, snapshot store and
/// read journal configuration. Defaults come from <c>akka.event-driven.persistence</c> in reference.conf.</summary>
/// <param name="Provider">The database.</param>
/// <param name="ConnectionString">ADO.NET connection string (a <c>postgresql://</c> URL is accepted too).</param>
/// <param name="BatchSize">Most events per journal round trip. Default 2000.</param>
/// <param name="Parallelism">Concurrent journal writers. Default 2.</param>
/// <param name="QueryRefreshInterval">Poll interval of live queries. Default 250 ms.</param>
/// <param name="TagInsertMode">How the journal writes tag rows: off (row by row), parameterized or inline
/// (one statement per batch; Akka.Persistence.Sql's tagtable-asqueryable-insert-mode). Default off.</param>
/// <param name="BatchedJournal">Write with Akka.EventDriven's group-committing journal (<see cref="PostgreSqlJournal"/>,
/// <see cref="SqliteJournal"/>; same tables) instead of Akka.Persistence.Sql's journal. Default true.</param>
/// <param name="MaxConnections">PostgreSQL: the most connections the node opens to the store, all components together
/// (the batched journal's pool plus one pool shared by everything else). Default 40.</param>
public sealed record StoreSettings(
    StoreProvider Provider,
    string ConnectionString,
    int BatchSize = 2000,
    int Parallelism = 2,
    TimeSpan? QueryRefreshInterval = null,
    string TagInsertMode = "off",
    bool BatchedJournal = true,
    int MaxConnections = 40)
{
    /// <summary>PostgreSQL: the size of the batched journal's own pool, out of <see cref="MaxConnections"/>.</summary>
    public int JournalConnections => Math.Min(MaxConnections - 1, Math.Max(Parallelism + 1, MaxConnections / 2));

    /// <summary>PostgreSQL: the size of the pool everything but the batched journal shares (the same connection string
    /// everywhere, so Npgsql keeps one pool for the snapshot store, read journal, projections, bus and sagas).</summary>
    public int SharedConnections => MaxConnections - JournalConnections;

    /// <summary>Config path of the store settings.</summary>
    public const string ConfigPath = "akka.event-driven.persistence";

    /// <summary>Reads <c>akka.event-driven.persistence</c>; an empty PostgreSQL connection string falls back to the
    /// <c>DATABASE_URL</c> environment variable.</summary>
    public static StoreSettings FromConfig(Config config)
    {
        var c = config.WithFallback(StorageConfig.DefaultConfig()).GetConfig(ConfigPath);
        var provider = ParseProvider(c.GetString("provider"));
        var cs = c.GetString("connection-string");
        if (string.IsNullOrWhiteSpace(cs) && provider == StoreProvider.PostgreSql)
            cs = Environment.GetEnvironmentVariable("DATABASE_URL") ?? "";
        return new StoreSettings(provider, cs, c.GetInt("batch-size"), c.GetInt("parallelism"),
            c.GetTimeSpan("query-refresh-interval"), c.GetString("tag-insert-mode"),
            ParseJournal(c.GetString("journal")), c.GetInt("max-connections", 40)).Validate();
    }

    private static bool ParseJournal(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "batched" or null or "" => true,
        "akka-persistence-sql" => false,
        _ => throw new ConfigurationException($"Unknown persistence journal '{text}': use 'batched' or 'akka-persistence-sql'."),
    };

    /// <summary>Parses "sqlite" or "postgresql" (case-insensitive; "postgres" and "pg" accepted).</summary>
    public static StoreProvider ParseProvider(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "sqlite" => StoreProvider.Sqlite,
        "postgresql" or "postgres" or "pg" => StoreProvider.PostgreSql,
        _ => throw new ConfigurationException($"Unknown persistence provider '{text}': use 'sqlite' or 'postgresql'."),
    };

    /// <summary>Checks the values and normalizes the connection string; throws <see cref="ConfigurationException"/> on bad input.</summary>
    public StoreSettings Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            throw new ConfigurationException(Provider == StoreProvider.PostgreSql
                ? "No PostgreSQL connection string: set akka.event-driven.persistence.connection-string or DATABASE_URL."
                : "No SQLite connection string: set akka.event-driven.persistence.connection-string.");
        if (BatchSize < 1) throw new ConfigurationException($"persistence batch-size must be at least 1, was {BatchSize}.");
        if (TagInsertMode is not ("off" or "parameterized" or "inline"))
            throw new ConfigurationException($"persistence tag-insert-mode must be off, parameterized or inline, was '{TagInsertMode}'.");
        if (Parallelism < 1) throw new ConfigurationException($"persistence parallelism must be at least 1, was {Parallelism}.");
        if (Provider == StoreProvider.PostgreSql && MaxConnections < Parallelism + 2)
            throw new ConfigurationException(
                $"persistence max-connections must be at least parallelism + 2 ({Parallelism + 2}), was {MaxConnections}.");
        var cs = NormalizeConnectionString(Provider, ConnectionString);
        if (Provider == StoreProvider.PostgreSql)
        {
            // One connection string for every component but the batched journal, so they share one bounded pool.
            var b = new NpgsqlConnectionStringBuilder(cs) { MaxPoolSize = SharedConnections };
            if (b.MaxAutoPrepare == 0) b.MaxAutoPrepare = 20;
            if (b.MinPoolSize > b.MaxPoolSize) b.MinPoolSize = b.MaxPoolSize;
            cs = b.ConnectionString;
        }
        return this with { ConnectionString = cs };
    }

    /// <summary>Turns a <c>postgresql://user:password@host:port/db?k=v</c> URL into an Npgsql connection string;
    /// other strings are returned as they are (after checking that Npgsql can parse them).</summary>
    public static string NormalizeConnectionString(StoreProvider provider, string connectionString)
    {
        if (provider != StoreProvider.PostgreSql) return connectionString;
        if (!connectionString.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            && !connectionString.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            try { return new NpgsqlConnectionStringBuilder(connectionString).ConnectionString; }
            catch (ArgumentException e) { throw new ConfigurationException($"Invalid PostgreSQL connection string: {e.Message}"); }
        }
        if (!Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ConfigurationException("Invalid PostgreSQL URL: expected postgresql://user:password@host:port/database.");
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0) b.Username = Uri.UnescapeDataString(userInfo[0]);
        if (userInfo.Length > 1) b.Password = Uri.UnescapeDataString(userInfo[1]);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            b[key == "sslmode" ? "SSL Mode" : key] = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
        }
        return b.ConnectionString;
    }

    /// <summary>A new, closed connection to the store (Npgsql with auto-prepare on unless the connection string
    /// sets it, or Microsoft.Data.Sqlite): for read models and projections living in the event store's database.</summary>
    public System.Data.Common.DbConnection CreateConnection()
    {
        if (Provider == StoreProvider.Sqlite) return new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        // Validate() has put the shared pool's bound and auto-prepare into the string; Npgsql pools by the canonical
        // string, so every component's connections come from the same pool.
        var b = new NpgsqlConnectionStringBuilder(ConnectionString);
        if (b.MaxAutoPrepare == 0) b.MaxAutoPrepare = 20;
        return new NpgsqlConnection(b.ConnectionString);
    }

    /// <summary>The Akka.Persistence.Sql configuration (journal, snapshot store, read journal) derived from these
    /// settings. Put it under any explicit <c>akka.persistence</c> settings and above
    /// <c>SqlPersistence.DefaultConfiguration</c>.</summary>
    public Config ToAkkaConfig()
    {
        var (providerName, mapping) = Provider switch
        {
            StoreProvider.PostgreSql => ("PostgreSQL.15", "postgresql"),
            _ => ("SQLite.MS", "sqlite"),
        };
        var cs = HoconText.Quote(ConnectionString);
        // What every Akka.Persistence.Sql section (journal, snapshot store, read journal) needs.
        var plugin = $"connection-string = {cs}, provider-name = \"{providerName}\", table-mapping = {mapping}";
        var refresh = (long)(QueryRefreshInterval ?? TimeSpan.FromMilliseconds(250)).TotalMilliseconds;
        var journalPlugin = !BatchedJournal ? "akka.persistence.journal.sql"
            : Provider == StoreProvider.PostgreSql ? "akka.persistence.journal.event-driven-postgresql"
            : "akka.persistence.journal.event-driven-sqlite";
        // A store that was down is tried again 2 s after the circuit breaker opened (Akka.Persistence waits 30 s by
        // default), so that a node resumes within seconds of its database coming back.
        var breaker = "circuit-breaker.reset-timeout = 2s";
        // PostgreSQL with the batched journal: the journal creates snapshot_store with its own tables (under its lock).
        // The plugin's own initialisation is then left off: while the database is unreachable it fails, restarts the
        // snapshot store again and again and holds every snapshot request until the database is back, so aggregates
        // would time out instead of failing fast.
        var snapshotAutoInitialize = Provider == StoreProvider.PostgreSql && BatchedJournal ? "off" : "on";
        // Recoveries are coalesced by the journal and the snapshot store (many aggregates per query), so the database's
        // load no longer grows with the number of recoveries in flight: Akka's default of 50 at a time would only cap
        // the batches and serialise a burst of cold loads behind it.
        var hocon = $$"""
            akka.persistence {
              max-concurrent-recoveries = 1000
              journal {
                plugin = "{{journalPlugin}}"
                event-driven-postgresql {
                  class = "{{PluginClass(typeof(PostgreSqlJournal))}}"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  connection-string = {{cs}}
                  batch-size = {{BatchSize}}
                  parallelism = {{Parallelism}}
                  max-pool-size = {{JournalConnections}}
                  {{breaker}}
                }
                event-driven-sqlite {
                  class = "{{PluginClass(typeof(SqliteJournal))}}"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  connection-string = {{cs}}
                  batch-size = {{BatchSize}}
                  {{breaker}}
                }
                sql {
                  {{plugin}}
                  auto-initialize = on
                  warn-on-auto-init-fail = off
                  batch-size = {{BatchSize}}
                  db-round-trip-max-batch-size = {{Math.Max(BatchSize, 1000)}}
                  db-round-trip-max-tag-batch-size = {{Math.Max(BatchSize, 1000)}}
                  parallelism = {{(Provider == StoreProvider.Sqlite ? 1 : Parallelism)}}
                  tag-write-mode = TagTable
                  tagtable-asqueryable-insert-mode = {{TagInsertMode}}
                  {{breaker}}
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "{{PluginClass(typeof(GuardedSqlSnapshotStore))}}"
                  {{plugin}}
                  auto-initialize = {{snapshotAutoInitialize}}
                  warn-on-auto-init-fail = off
                  {{breaker}}
                }
              }
              query.journal.sql {
                {{plugin}}
                refresh-interval = {{refresh}}ms
                tag-read-mode = TagTable
              }
            }
            """;
        return ConfigurationFactory.ParseString(hocon);
    }

    /// <summary>The HOCON <c>class</c> value naming a plugin type: its full name and its assembly's simple name, built
    /// from the type itself so that moving or renaming the type cannot leave a stale string behind.</summary>
    internal static string PluginClass(Type type) => type.FullName + ", " + type.Assembly.GetName().Name;
}
