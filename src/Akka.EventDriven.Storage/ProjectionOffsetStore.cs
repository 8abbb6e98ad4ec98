using System.Data.Common;

namespace Akka.EventDriven.Storage;

/// <summary>
/// The projections' tables (<see cref="SchemaPart.Projections"/>): a projection's offset and its dead letters. The
/// calls that take a connection and a transaction run in the caller's transaction, so that an exactly-once
/// projection's read-model writes, dead letters and new offset commit or roll back together (the step moves its offset
/// with <see cref="TryAdvanceOffsetAsync"/> before the handler runs, which locks the row until the commit, so two
/// instances of one projection never handle a batch at once). The heartbeat and the clean-up at shutdown use
/// connections of their own.
/// </summary>
public sealed class ProjectionOffsetStore(StoreSettings store)
{
    /// <summary>Creates the journal's and the projections' tables unless they exist, and the offset row of projection
    /// <paramref name="name"/>, key <paramref name="key"/>, at <paramref name="startOffset"/> unless it exists.</summary>
    public async Task PrepareAsync(string name, string key, Func<CancellationToken, Task<long>> startOffset, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(startOffset);
        await Schema.EnsureAsync(store, SchemaPart.Journal, ct);
        await Schema.EnsureAsync(store, SchemaPart.Projections, ct);
        var start = await startOffset(ct);
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO projection_offsets (projection_name, projection_key, current_offset, updated_at)
            VALUES (@name, @key, @start, 0) ON CONFLICT DO NOTHING
            """;
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        command.AddParameter("start", start);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The stored offset of projection <paramref name="name"/>, key <paramref name="key"/> (0 without a
    /// row), without a lock.</summary>
    public Task<long> ReadOffsetAsync(DbConnection connection, DbTransaction? transaction, string name, string key,
        CancellationToken ct = default) => ReadOffsetAsync(connection, transaction, name, key, lockRow: false, ct);

    /// <summary>The stored offset of projection <paramref name="name"/>, key <paramref name="key"/> (0 without a row),
    /// with its row locked until <paramref name="transaction"/> ends (on PostgreSQL; SQLite's transaction holds the
    /// whole database). A lock gives the transaction an id: take it after reading the journal (see
    /// <see cref="JournalReader"/>).</summary>
    public Task<long> LockOffsetAsync(DbConnection connection, DbTransaction transaction, string name, string key,
        CancellationToken ct = default) => ReadOffsetAsync(connection, transaction, name, key, lockRow: true, ct);

    private async Task<long> ReadOffsetAsync(DbConnection connection, DbTransaction? transaction, string name, string key,
        bool lockRow, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT current_offset FROM projection_offsets WHERE projection_name = @name AND projection_key = @key"
                              + (lockRow && store.Provider == StoreProvider.PostgreSql ? " FOR UPDATE" : "");
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
    }

    /// <summary>In the caller's <paramref name="transaction"/>: moves the offset of projection <paramref name="name"/>, key
    /// <paramref name="key"/> from <paramref name="expected"/> to <paramref name="next"/> (with <paramref name="nowTicks"/>
    /// as its heartbeat) and keeps its row locked until the transaction ends, so that no other instance and no reset
    /// moves it meanwhile. False when the stored offset is not <paramref name="expected"/> (another instance or a reset
    /// moved it; a missing row counts as 0): nothing changed, and the caller rolls back and reads the offset again.</summary>
    public async Task<bool> TryAdvanceOffsetAsync(DbConnection connection, DbTransaction transaction, string name, string key,
        long expected, long next, long nowTicks, CancellationToken ct = default)
    {
        await using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = """
                UPDATE projection_offsets SET current_offset = @next, updated_at = @now
                WHERE projection_name = @name AND projection_key = @key AND current_offset = @expected
                """;
            update.AddParameter("next", next);
            update.AddParameter("now", nowTicks);
            update.AddParameter("name", name);
            update.AddParameter("key", key);
            update.AddParameter("expected", expected);
            if (await update.ExecuteNonQueryAsync(ct) == 1) return true;
        }
        if (expected != 0) return false;
        // No row (a deleted row is a reset to the beginning) and 0 was expected: create it, unless another did meanwhile.
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO projection_offsets (projection_name, projection_key, current_offset, updated_at)
            VALUES (@name, @key, @next, @now) ON CONFLICT DO NOTHING
            """;
        insert.AddParameter("name", name);
        insert.AddParameter("key", key);
        insert.AddParameter("next", next);
        insert.AddParameter("now", nowTicks);
        return await insert.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Stores <paramref name="offset"/> as the offset of projection <paramref name="name"/>, key
    /// <paramref name="key"/>, with <paramref name="nowTicks"/> (UTC) as its heartbeat. An upsert: a deleted offset row
    /// (a manual reset) must not make a step commit without recording its progress.</summary>
    public async Task StoreOffsetAsync(DbConnection connection, DbTransaction? transaction, string name, string key, long offset,
        long nowTicks, CancellationToken ct = default)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO projection_offsets (projection_name, projection_key, current_offset, updated_at)
            VALUES (@name, @key, @offset, @now)
            ON CONFLICT (projection_name, projection_key) DO UPDATE SET current_offset = excluded.current_offset, updated_at = excluded.updated_at
            """;
        command.AddParameter("offset", offset);
        command.AddParameter("now", nowTicks);
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Records <paramref name="letter"/> as dead-lettered by projection <paramref name="name"/>, key
    /// <paramref name="key"/>, at <paramref name="failedAtTicks"/> (UTC); an event recorded already is left as it is.</summary>
    public async Task AddDeadLetterAsync(DbConnection connection, DbTransaction? transaction, string name, string key,
        ProjectionDeadLetterRow letter, long failedAtTicks, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO projection_dead_letters (projection_name, projection_key, event_offset, persistence_id, sequence_nr, type_name, error, failed_at)
            VALUES (@name, @key, @offset, @pid, @seq, @type, @error, @at) ON CONFLICT DO NOTHING
            """;
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        command.AddParameter("offset", letter.Offset);
        command.AddParameter("pid", letter.PersistenceId);
        command.AddParameter("seq", letter.SequenceNr);
        command.AddParameter("type", letter.TypeName);
        command.AddParameter("error", letter.Error);
        command.AddParameter("at", failedAtTicks);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Sets the heartbeat (<c>updated_at</c>, UTC ticks) of the offset row of projection
    /// <paramref name="name"/>, key <paramref name="key"/>, to <paramref name="nowTicks"/>. Returns false when the row
    /// does not exist (yet). Database errors (the table missing, the database away) are thrown as
    /// <see cref="System.Data.Common.DbException"/>.</summary>
    public async Task<bool> TouchAsync(string name, string key, long nowTicks, CancellationToken ct = default)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE projection_offsets SET updated_at = @now WHERE projection_name = @name AND projection_key = @key";
        command.AddParameter("now", nowTicks);
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Deletes the offset row of projection <paramref name="name"/>, key <paramref name="key"/>, and every
    /// other row of that projection whose heartbeat is set (above 0) and older than <paramref name="staleBeforeTicks"/>
    /// (UTC ticks). A row whose heartbeat is still 0 is never taken for a leftover.</summary>
    public async Task DeleteOffsetsAsync(string name, string key, long staleBeforeTicks, CancellationToken ct = default)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM projection_offsets WHERE projection_name = @name AND (projection_key = @key OR (updated_at > 0 AND updated_at < @stale))";
        command.AddParameter("name", name);
        command.AddParameter("key", key);
        command.AddParameter("stale", staleBeforeTicks);
        await command.ExecuteNonQueryAsync(ct);
    }
}
