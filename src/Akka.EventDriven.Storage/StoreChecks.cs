using Microsoft.Data.Sqlite;

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
}
