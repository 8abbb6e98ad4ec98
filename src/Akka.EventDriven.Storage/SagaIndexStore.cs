using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Akka.EventDriven.Storage;

/// <summary>The table of running sagas (one row per saga id, with the saga's name and the time it was added), which
/// every node reads after a restart to wake the sagas that were running. Each write is one transaction; callers
/// group many additions and removals into one.</summary>
public sealed class SagaIndexStore
{
    private readonly StoreSettings _store;
    private readonly string _table;

    /// <summary>The index in <paramref name="table"/> of <paramref name="store"/>'s database.</summary>
    /// <exception cref="ArgumentException"><paramref name="table"/> is not a plain SQL identifier.</exception>
    public SagaIndexStore(StoreSettings store, string table)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _table = SqlNames.Validate(table);
    }

    /// <summary>Creates the table unless it exists (<see cref="Schema.EnsureAsync"/>).</summary>
    public Task EnsureTableAsync(CancellationToken ct = default) => Schema.EnsureAsync(_store, SchemaPart.SagaIndex(_table), ct);

    /// <summary>Every indexed saga id with the time it was added.</summary>
    public async Task<IReadOnlyList<(string Id, DateTimeOffset Since)>> ReadAllAsync(CancellationToken ct = default)
    {
        await using var connection = _store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT saga_id, since_ms FROM {_table}";
        var result = new List<(string, DateTimeOffset)>();
        await using var reader = await select.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            result.Add((reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        return result;
    }

    /// <summary>In one transaction: adds <paramref name="adds"/> (an id already indexed is left as it is; a null name
    /// is refused by the table) stamped <paramref name="nowMs"/> (Unix milliseconds), and removes
    /// <paramref name="removes"/>. Either everything is written or nothing.</summary>
    public async Task WriteAsync(IReadOnlyList<(string Id, string? Name)> adds, IReadOnlyList<string> removes, long nowMs,
        CancellationToken ct = default)
    {
        await using var connection = _store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (connection is NpgsqlConnection pg)
        {
            if (adds.Count > 0)
            {
                await using var insert = new NpgsqlCommand(
                    $"INSERT INTO {_table} (saga_id, saga_name, since_ms) SELECT i, n, $3 FROM unnest($1::text[], $2::text[]) AS t(i, n) ON CONFLICT (saga_id) DO NOTHING",
                    pg, (NpgsqlTransaction)tx);
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = adds.Select(a => a.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = adds.Select(a => a.Name!).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = nowMs });
                await insert.ExecuteNonQueryAsync(ct);
            }
            if (removes.Count > 0)
            {
                await using var delete = new NpgsqlCommand($"DELETE FROM {_table} WHERE saga_id = ANY($1)", pg, (NpgsqlTransaction)tx);
                delete.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = removes.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                await delete.ExecuteNonQueryAsync(ct);
            }
        }
        else
        {
            var sqlite = (SqliteConnection)connection;
            foreach (var (id, name) in adds)
            {
                await using var insert = sqlite.CreateCommand();
                insert.Transaction = (SqliteTransaction)tx;
                insert.CommandText = $"INSERT INTO {_table} (saga_id, saga_name, since_ms) VALUES ($id, $name, $now) ON CONFLICT (saga_id) DO NOTHING";
                insert.Parameters.AddWithValue("$id", id);
                insert.Parameters.AddWithValue("$name", name);
                insert.Parameters.AddWithValue("$now", nowMs);
                await insert.ExecuteNonQueryAsync(ct);
            }
            foreach (var id in removes)
            {
                await using var delete = sqlite.CreateCommand();
                delete.Transaction = (SqliteTransaction)tx;
                delete.CommandText = $"DELETE FROM {_table} WHERE saga_id = $id";
                delete.Parameters.AddWithValue("$id", id);
                await delete.ExecuteNonQueryAsync(ct);
            }
        }
        await tx.CommitAsync(ct);
    }
}
