using Akka.Actor;
using Akka.Cluster;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Serialization;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.TestKit;

/// <summary>Where a test node stores its events: a fresh SQLite file or a fresh PostgreSQL database (removed when the
/// store is disposed), or a PostgreSQL database that outlives the test.</summary>
/// <param name="Provider">SQLite or PostgreSQL.</param>
/// <param name="ConnectionString">The connection string (or a <c>postgresql://</c> URL).</param>
/// <remarks>A class, not a record: it owns what it created (a copy would drop the same database twice).</remarks>
public sealed class EventDrivenTestStore(StoreProvider Provider, string ConnectionString) : IAsyncDisposable
{
    /// <summary>SQLite or PostgreSQL.</summary>
    public StoreProvider Provider { get; } = Provider;

    /// <summary>The connection string (or a <c>postgresql://</c> URL); for a temporary database, of its server.</summary>
    public string ConnectionString { get; } = ConnectionString;

    private readonly object _gate = new();
    private bool _disposed;
    private Task? _created;

    internal string? TemporaryFile { get; init; }

    /// <summary>The database created for this store (on the server at <see cref="ConnectionString"/>), or null.</summary>
    public string? TemporaryDatabase { get; private init; }

    /// <summary>A new SQLite file in the temp folder, deleted when the store is disposed.</summary>
    public static EventDrivenTestStore NewSqlite()
    {
        var file = Path.Combine(Path.GetTempPath(), $"eventdriven-testkit-{Guid.NewGuid():N}.db");
        return new EventDrivenTestStore(StoreProvider.Sqlite, $"Data Source={file}") { TemporaryFile = file };
    }

    /// <summary>PostgreSQL at <paramref name="url"/> (default: the <c>DATABASE_URL</c> environment variable), its
    /// database as it is: what earlier nodes stored there is seen (journal, bus topics, offsets).</summary>
    public static EventDrivenTestStore PostgreSql(string? url = null) => new(StoreProvider.PostgreSql, RequireUrl(url));

    /// <summary>A new, empty database on the PostgreSQL server at <paramref name="url"/> (default: the
    /// <c>DATABASE_URL</c> environment variable), created when the first node starts on it and dropped when the store
    /// is disposed: the PostgreSQL counterpart of <see cref="NewSqlite"/>.</summary>
    public static EventDrivenTestStore NewPostgreSqlDatabase(string? url = null)
    {
        var server = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, RequireUrl(url));
        return new EventDrivenTestStore(StoreProvider.PostgreSql, server) { TemporaryDatabase = $"eventdriven_testkit_{Guid.NewGuid():N}" };
    }

    /// <summary>A fresh database for every store: a new PostgreSQL database when <c>DATABASE_URL</c> is set (as
    /// <c>./build.sh test</c> does), else a new SQLite file. Nodes that should share one store (a cluster, a restart)
    /// are started on the same instance, disposed after the last of them.</summary>
    public static EventDrivenTestStore FromEnvironment() =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("DATABASE_URL")) ? NewSqlite() : NewPostgreSqlDatabase();

    private static string RequireUrl(string? url)
    {
        url ??= Environment.GetEnvironmentVariable("DATABASE_URL");
        if (string.IsNullOrWhiteSpace(url))
            throw new InvalidOperationException("No PostgreSQL to test against: DATABASE_URL is not set.");
        return url;
    }

    /// <summary>The connection string a node uses: on a temporary database, that database on the server.</summary>
    internal string NodeConnectionString => TemporaryDatabase is { } db
        ? new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString) { Database = db }.ConnectionString
        : ConnectionString;

    /// <summary>Creates the temporary database, once (again after a failed attempt); nothing for other stores.</summary>
    internal Task EnsureCreatedAsync(CancellationToken ct)
    {
        if (TemporaryDatabase is null) return Task.CompletedTask;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_created is null || _created.IsFaulted || _created.IsCanceled) _created = CreateAsync(TemporaryDatabase, ct);
            return _created;
        }
    }

    private async Task CreateAsync(string database, CancellationToken ct)
    {
        try
        {
            await new StoreSettings(Provider, ConnectionString).CreateDatabaseAsync(database, ct);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.DuplicateDatabase)
        {
            // An earlier attempt was cancelled after the server had created it: it is there, empty.
        }
    }

    /// <summary>Removes the temporary SQLite file or PostgreSQL database (nothing for a store that outlives the test).
    /// A node started without a store removes its own; dispose a store you pass to nodes after the last of them.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        if (TemporaryFile is { } file)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in new[] { file, file + "-wal", file + "-shm" })
                try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        if (TemporaryDatabase is { } db && _created is { } created)
        {
            try { await created; } catch (Exception) { /* a failed creation is dropped (IF EXISTS) all the same */ }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await new StoreSettings(Provider, ConnectionString).DropDatabaseAsync(db, cts.Token); }
            catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException)
            {
                // A database left behind is only disk space on a throw-away server; the test's outcome stands.
                Console.Error.WriteLine($"EventDrivenTestStore: could not drop test database {db}: {e.Message}");
            }
        }
    }
}
