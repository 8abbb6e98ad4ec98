using Microsoft.Data.Sqlite;
using Npgsql;

namespace Akka.EventDriven.Storage;

/// <summary>Operations on the store as a whole: a liveness probe and the preparation a node does before it starts.</summary>
public static class StoreChecks
{
    /// <summary>Opens a connection and runs a trivial query: completes when the database answers, throws the
    /// provider's error (or <see cref="OperationCanceledException"/> when <paramref name="ct"/> fires) when it does
    /// not. Health checks bound it with a timeout through <paramref name="ct"/>.</summary>
    public static async Task PingAsync(this StoreSettings store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(ct);
    }

    /// <summary>SQLite: creates the database file's folder and turns on WAL (write-ahead logging), so that readers do
    /// not block the journal's writer; WAL is a property of the file and stays on. PostgreSQL: nothing to do.</summary>
    public static async Task PrepareAsync(this StoreSettings store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.Provider != StoreProvider.Sqlite) return;
        var builder = new SqliteConnectionStringBuilder(store.ConnectionString);
        if (Path.GetDirectoryName(Path.GetFullPath(builder.DataSource)) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        await using var connection = new SqliteConnection(store.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>PostgreSQL: creates database <paramref name="name"/> on the server <paramref name="store"/> points at
    /// (connecting to its database to issue the statement) and returns the store on the new database. The name must be
    /// a plain identifier (letters, digits, underscores), since a database name cannot be a parameter.</summary>
    public static async Task<StoreSettings> CreateDatabaseAsync(this StoreSettings store, string name, CancellationToken ct = default)
    {
        var (admin, target) = Retarget(store, name);
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE \"{name}\"";
            await command.ExecuteNonQueryAsync(ct);
        }
        return store with { ConnectionString = target };
    }

    /// <summary>PostgreSQL: drops database <paramref name="name"/> if it exists, closing the connections still open on
    /// it (the pooled connections of this process first).</summary>
    public static async Task DropDatabaseAsync(this StoreSettings store, string name, CancellationToken ct = default)
    {
        var (admin, target) = Retarget(store, name);
        // The pool the nodes used is keyed by their validated connection string (pool size, auto-prepare added).
        using (var pooled = new NpgsqlConnection((store with { ConnectionString = target }).Validate().ConnectionString))
            NpgsqlConnection.ClearPool(pooled);
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)";
        await command.ExecuteNonQueryAsync(ct);
    }

    private static (string Admin, string Target) Retarget(StoreSettings store, string name)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.Provider != StoreProvider.PostgreSql)
            throw new NotSupportedException("Databases are created and dropped on PostgreSQL only (a SQLite database is a file).");
        if (string.IsNullOrEmpty(name) || name.Length > 63 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ArgumentException($"Not a plain database name (letters, digits, underscores, at most 63): '{name}'.", nameof(name));
        var builder = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString));
        var admin = builder.ConnectionString;
        builder.Database = name;
        return (admin, builder.ConnectionString);
    }
}
