using System.Threading.Channels;
using Akka.EventDriven.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Akka.EventDriven.Sagas.Internal;

/// <summary>
/// The durable index of running sagas: one row per saga id, added (durably) before the saga's start is sent and
/// removed once it finished. Every node's <see cref="SagaResumer"/> reads it to wake running sagas after a restart
/// or a node loss. Writes from all sagas of a node are group-committed: everything queued while a transaction runs
/// goes into the next one.
/// </summary>
internal sealed class SagaIndex : IAsyncDisposable
{
    private readonly record struct Op(bool Add, string Id, string? Name, TaskCompletionSource? Done);

    private readonly StoreSettings _store;
    private readonly string _table;
    private readonly Channel<Op> _ops = Channel.CreateUnbounded<Op>();
    private readonly Task[] _writers;
    private readonly Action<Exception> _onError;

    private SagaIndex(StoreSettings store, string table, Action<Exception> onError)
    {
        _store = store;
        _table = table;
        _onError = onError;
        // Two writers on PostgreSQL (a batch is written while the next one fills; an id's removal is queued only after
        // its addition committed, so they never race); SQLite has a single writer anyway.
        _writers = Enumerable.Range(0, store.Provider == StoreProvider.PostgreSql ? 2 : 1).Select(_ => Task.Run(WriteLoopAsync)).ToArray();
    }

    public static async Task<SagaIndex> OpenAsync(StoreSettings store, string table, Action<Exception> onError)
    {
        await using (var connection = store.CreateConnection())
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = $"CREATE TABLE IF NOT EXISTS {table} (saga_id TEXT PRIMARY KEY, saga_name TEXT NOT NULL, since_ms BIGINT NOT NULL)";
            try { await create.ExecuteNonQueryAsync(); }
            catch (PostgresException e) when (e.SqlState is "23505" or "42P07") { } // created concurrently by another node
        }
        return new SagaIndex(store, table, onError);
    }

    /// <summary>Completes once the row is durable.</summary>
    public Task AddAsync(string sagaId, string sagaName)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_ops.Writer.TryWrite(new Op(true, sagaId, sagaName, done)))
            done.TrySetException(new ObjectDisposedException(nameof(SagaIndex)));
        return done.Task;
    }

    /// <summary>Removes the row in the background (a row left behind is removed by the next sweep).</summary>
    public void Remove(string sagaId) => _ops.Writer.TryWrite(new Op(false, sagaId, null, null));

    /// <summary>Every indexed saga id with the time it was added.</summary>
    public async Task<IReadOnlyList<(string Id, DateTimeOffset Since)>> ReadAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = _store.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT saga_id, since_ms FROM {_table}";
        var result = new List<(string, DateTimeOffset)>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            result.Add((reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        return result;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Op>();
        while (await _ops.Reader.WaitToReadAsync())
        {
            while (batch.Count < 2000 && _ops.Reader.TryRead(out var op)) batch.Add(op);
            try
            {
                await WriteAsync(batch);
                foreach (var op in batch) op.Done?.TrySetResult();
            }
            catch (Exception e) when (batch.Count > 1 && !IsTransient(e))
            {
                // One bad request (a value the database refuses) must not fail the others of its group commit: the
                // batch was rolled back, so each request is written on its own and only the offending one fails.
                _onError(e);
                foreach (var op in batch)
                {
                    try
                    {
                        await WriteAsync([op]);
                        op.Done?.TrySetResult();
                    }
                    catch (Exception single)
                    {
                        _onError(single);
                        op.Done?.TrySetException(single);
                    }
                }
            }
            catch (Exception e)
            {
                _onError(e);
                foreach (var op in batch) op.Done?.TrySetException(e);
            }
            batch.Clear();
        }
    }

    /// <summary>A failure that may pass by itself (the database away, a lock, a timeout): writing the requests one by
    /// one would not help, so the batch fails as a whole and the callers retry.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        NpgsqlException n => n.IsTransient || n is not PostgresException,
        SqliteException s => s.SqliteErrorCode is 5 or 6, // SQLITE_BUSY, SQLITE_LOCKED
        TimeoutException or IOException or OperationCanceledException => true,
        _ => false,
    };

    private async Task WriteAsync(List<Op> batch)
    {
        var adds = batch.Where(o => o.Add).ToList();
        var removes = batch.Where(o => !o.Add).Select(o => o.Id).ToArray();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var connection = _store.CreateConnection();
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        if (connection is NpgsqlConnection pg)
        {
            if (adds.Count > 0)
            {
                await using var insert = new NpgsqlCommand(
                    $"INSERT INTO {_table} (saga_id, saga_name, since_ms) SELECT i, n, $3 FROM unnest($1::text[], $2::text[]) AS t(i, n) ON CONFLICT (saga_id) DO NOTHING",
                    pg, (NpgsqlTransaction)tx);
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = adds.Select(a => a.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = adds.Select(a => a.Name!).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now });
                await insert.ExecuteNonQueryAsync();
            }
            if (removes.Length > 0)
            {
                await using var delete = new NpgsqlCommand($"DELETE FROM {_table} WHERE saga_id = ANY($1)", pg, (NpgsqlTransaction)tx);
                delete.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = removes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                await delete.ExecuteNonQueryAsync();
            }
        }
        else
        {
            var sqlite = (SqliteConnection)connection;
            foreach (var add in adds)
            {
                await using var insert = sqlite.CreateCommand();
                insert.Transaction = (SqliteTransaction)tx;
                insert.CommandText = $"INSERT INTO {_table} (saga_id, saga_name, since_ms) VALUES ($id, $name, $now) ON CONFLICT (saga_id) DO NOTHING";
                insert.Parameters.AddWithValue("$id", add.Id);
                insert.Parameters.AddWithValue("$name", add.Name);
                insert.Parameters.AddWithValue("$now", now);
                await insert.ExecuteNonQueryAsync();
            }
            foreach (var id in removes)
            {
                await using var delete = sqlite.CreateCommand();
                delete.Transaction = (SqliteTransaction)tx;
                delete.CommandText = $"DELETE FROM {_table} WHERE saga_id = $id";
                delete.Parameters.AddWithValue("$id", id);
                await delete.ExecuteNonQueryAsync();
            }
        }
        await tx.CommitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _ops.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }
}
