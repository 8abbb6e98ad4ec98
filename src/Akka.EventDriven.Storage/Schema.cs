using System.Collections.Concurrent;
using System.Data.Common;

namespace Akka.EventDriven.Storage;

/// <summary>Creates the store's tables, one <see cref="SchemaPart"/> at a time, with one strategy for every part:
/// on PostgreSQL one transaction holding a transaction-scoped advisory lock (the same lock id for every part, so
/// creators never interleave), retried a few times when someone outside the lock created an object at the same
/// moment; on SQLite one immediate transaction (SQLite's write lock).</summary>
public static class Schema
{
    /// <summary>The advisory lock every creator of this store's tables takes on PostgreSQL.</summary>
    internal const long LockId = 7415533;

    private const int Attempts = 5;

    private static readonly ConcurrentDictionary<(string ConnectionString, string Part), Lazy<Task>> Ensured = new();

    /// <summary>Creates <paramref name="part"/>'s tables in <paramref name="store"/>'s database unless they exist.
    /// Done once per connection string and part in this process: later calls return at once. A failed attempt (the
    /// database was down, the file could not be opened) is forgotten, so the next call tries again instead of failing
    /// for the life of the process.</summary>
    public static Task EnsureAsync(StoreSettings store, SchemaPart part, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(part);
        var key = (store.ConnectionString, part.Name);
        // The creation itself is not cancelled by one caller's token: other callers may be waiting for it.
        var ensured = Ensured.GetOrAdd(key, _ => new Lazy<Task>(() => CreateAsync(store.Provider, part, async token =>
        {
            var connection = store.CreateConnection();
            try
            {
                await connection.OpenAsync(token);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }, null, CancellationToken.None)));
        var task = ensured.Value;
        return task.IsCompletedSuccessfully ? task : AwaitOrForgetAsync(key, ensured, task, ct);
    }

    private static async Task AwaitOrForgetAsync((string, string) key, Lazy<Task> ensured, Task task, CancellationToken ct)
    {
        try
        {
            await task.WaitAsync(ct);
        }
        catch when (task.IsFaulted || task.IsCanceled)
        {
            Ensured.TryRemove(KeyValuePair.Create(key, ensured));
            throw;
        }
    }

    /// <summary>Creates <paramref name="part"/> on connections from <paramref name="open"/> (no memo): the journals
    /// use their own connections (their pool, SQLite's WAL writer) and keep their own memo.</summary>
    internal static async Task CreateAsync(StoreProvider provider, SchemaPart part,
        Func<CancellationToken, Task<DbConnection>> open, Action<Exception>? onRace, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await open(ct);
                await using var tx = await connection.BeginTransactionAsync(ct);
                await using var command = connection.CreateCommand();
                command.Transaction = tx;
                command.CommandText = provider == StoreProvider.PostgreSql
                    ? $"SELECT pg_advisory_xact_lock({LockId});\n{part.PostgreSql}"
                    : part.Sqlite;
                await command.ExecuteNonQueryAsync(ct);
                await tx.CommitAsync(ct);
                return;
            }
            catch (Exception e) when (attempt < Attempts && StoreErrors.IsCreateRace(e))
            {
                // Someone outside the advisory lock created one of these tables at the same moment (Akka.Persistence.Sql's
                // snapshot store auto-initializes snapshot_store; CREATE TABLE IF NOT EXISTS is not safe against a
                // concurrent create and fails on pg_type's unique index). The table exists now: the next attempt sees it.
                onRace?.Invoke(e);
            }
        }
    }
}
