using System.Data.Common;
using Npgsql;

namespace Akka.EventDriven.Storage;

/// <summary>The operations console's reads: journal events by tag (its live feed) and by correlation id (its trace,
/// through <see cref="ConsoleIndexStore.CorrelationTable"/>), the journal's highest ordering, dead letters, and the
/// saga table. Each read runs on the caller's open <see cref="DbConnection"/> (one of
/// <see cref="StoreSettings.CreateConnection"/>: the dialect, PostgreSQL or SQLite, follows from it), so that a caller
/// can run several on one connection. Rows come back with their stored values; deserializing them is the caller's.
/// A read of a table that does not exist yet (no console index, no bus store) throws the provider's
/// <see cref="DbException"/>: a caller that must tell that apart from a failure asks <see cref="TableExistsAsync"/>.</summary>
public static class ConsoleReadStore
{
    /// <summary>Journal events carrying one of <paramref name="tags"/>, in ascending ordering, at most
    /// <paramref name="limit"/>. With <paramref name="after"/> null: the latest <paramref name="limit"/> such rows
    /// (read newest first, returned oldest first); otherwise the first ones after ordering <paramref name="after"/>. An
    /// event carrying several of the tags comes once per tag.</summary>
    /// <exception cref="ArgumentException"><paramref name="tags"/> is empty.</exception>
    public static async Task<IReadOnlyList<ConsoleTaggedEventRow>> ReadTaggedEventsAsync(DbConnection connection,
        IReadOnlyList<string> tags, long? after, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(tags);
        if (tags.Count == 0) throw new ArgumentException("At least one tag.", nameof(tags));
        await using var command = connection.CreateCommand();
        var names = string.Join(", ", tags.Select((_, i) => "@t" + i));
        for (var i = 0; i < tags.Count; i++) command.AddParameter("t" + i, tags[i]);
        var latest = after is null;
        command.CommandText = $"""
            SELECT t.ordering_id, t.tag, j.persistence_id, j.sequence_nr, j.payload, j.manifest, j.serializer_id, j.{CreatedColumn(connection)}
            FROM tags t JOIN event_journal j ON j.ordering = t.ordering_id
            WHERE t.tag IN ({names}) {(latest ? "" : "AND t.ordering_id > @after")}
            ORDER BY t.ordering_id {(latest ? "DESC" : "")} LIMIT @limit
            """;
        if (!latest) command.AddParameter("after", after!.Value);
        command.AddParameter("limit", (long)limit);
        var rows = new List<ConsoleTaggedEventRow>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                rows.Add(new ConsoleTaggedEventRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
                    reader.GetFieldValue<byte[]>(4), reader.IsDBNull(5) ? "" : reader.GetString(5), reader.GetInt32(6), reader.GetInt64(7)));
        if (latest) rows.Reverse();
        return rows;
    }

    /// <summary>The journal's highest ordering; 0 when it is empty.</summary>
    public static async Task<long> HighestOrderingAsync(DbConnection connection, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT max(ordering) FROM event_journal";
        return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
    }

    /// <summary>The number of dead letters per queue (queues without any are absent).</summary>
    public static Task<IReadOnlyDictionary<string, long>> CountDeadLettersByQueueAsync(DbConnection connection,
        CancellationToken ct = default) =>
        CountsAsync(connection, "SELECT queue, count(*) FROM bus_dead_letters GROUP BY queue", ct);

    /// <summary>The number of sagas in the console's saga table per state (states without any are absent).</summary>
    public static Task<IReadOnlyDictionary<string, long>> CountSagasByStateAsync(DbConnection connection,
        CancellationToken ct = default) =>
        CountsAsync(connection, $"SELECT state, count(*) FROM {ConsoleIndexStore.SagaTable} GROUP BY state", ct);

    /// <summary>The undeleted journal events after ordering <paramref name="after"/> that the console index links to
    /// <paramref name="correlationId"/>, or to a saga started with it (a saga's own events carry the saga's id), in
    /// ascending ordering, at most <paramref name="limit"/>.</summary>
    public static async Task<IReadOnlyList<ConsoleEventRow>> ReadTraceAsync(DbConnection connection, string correlationId,
        long after, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(correlationId);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT j.ordering, j.persistence_id, j.sequence_nr, j.payload, j.manifest, j.serializer_id, j.{CreatedColumn(connection)}
            FROM event_journal j
            WHERE j.ordering > @after AND j.is_deleted = {(connection is NpgsqlConnection ? "false" : "0")}
              AND j.ordering IN (
                SELECT c.ordering FROM {ConsoleIndexStore.CorrelationTable} c
                WHERE c.correlation_id IN (
                  SELECT @id
                  UNION
                  SELECT substr(s.persistence_id, 6) FROM {ConsoleIndexStore.CorrelationTable} s
                  WHERE s.correlation_id = @id AND s.persistence_id LIKE 'saga:%'))
            ORDER BY j.ordering
            LIMIT @limit
            """;
        command.AddParameter("id", correlationId);
        command.AddParameter("after", after);
        command.AddParameter("limit", (long)limit);
        var rows = new List<ConsoleEventRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new ConsoleEventRow(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<byte[]>(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6)));
        return rows;
    }

    /// <summary>The dead letters of messages with <paramref name="correlationId"/>, oldest first, at most
    /// <paramref name="limit"/>. <c>bus_dead_letters</c> has no index on the correlation id: the scan is bounded by the
    /// table (an operator empties it) and by the limit.</summary>
    public static async Task<IReadOnlyList<ConsoleDeadLetterRow>> ReadDeadLettersAsync(DbConnection connection,
        string correlationId, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(correlationId);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, queue, message_id, type, data, published_at, reason FROM bus_dead_letters
            WHERE correlation_id = @id ORDER BY id LIMIT @limit
            """;
        command.AddParameter("id", correlationId);
        command.AddParameter("limit", (long)limit);
        var rows = new List<ConsoleDeadLetterRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new ConsoleDeadLetterRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetInt64(5), reader.GetString(6)));
        return rows;
    }

    /// <summary>The rows of the console's saga table, of state <paramref name="state"/> if given, most recently
    /// updated first, at most <paramref name="limit"/>.</summary>
    public static async Task<IReadOnlyList<ConsoleSagaRow>> ReadSagasAsync(DbConnection connection, string? state, int limit,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT saga_id, saga_name, state, step, last_error, correlation_id, started_at, updated_at FROM {ConsoleIndexStore.SagaTable}
            {(state is null ? "" : "WHERE state = @state")} ORDER BY updated_at DESC LIMIT @limit
            """;
        if (state is not null) command.AddParameter("state", state);
        command.AddParameter("limit", (long)limit);
        var rows = new List<ConsoleSagaRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new ConsoleSagaRow(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt64(6), reader.GetInt64(7)));
        return rows;
    }

    /// <summary>Whether <paramref name="table"/> exists: a query of it that reads no row succeeds. Callers ask after a
    /// read failed, to tell "not created yet" from a failure. On PostgreSQL a failed statement aborts the surrounding
    /// transaction, so ask outside one (the console's reads run in none).</summary>
    /// <exception cref="ArgumentException"><paramref name="table"/> is not a plain SQL identifier.</exception>
    public static async Task<bool> TableExistsAsync(DbConnection connection, string table, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        SqlNames.Validate(table);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT 1 FROM {table} WHERE 1 = 0";
            await command.ExecuteScalarAsync(ct);
            return true;
        }
        catch (DbException)
        {
            return false;
        }
    }

    // The journal's column with the time a row was stored (UTC ticks): Akka.Persistence.Sql names it differently per
    // dialect.
    private static string CreatedColumn(DbConnection connection) => connection is NpgsqlConnection ? "created_at" : "timestamp";

    private static async Task<IReadOnlyDictionary<string, long>> CountsAsync(DbConnection connection, string sql, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }
}
