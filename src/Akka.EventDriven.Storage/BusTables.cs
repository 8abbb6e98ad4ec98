using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>The event bus's tables (<see cref="SchemaPart.Bus"/>) and its logs in the event journal, in one store's
/// database. The tables are created on first use.</summary>
public sealed class BusTables(StoreSettings store) : IOffsetStore, IBusLogStore, IDeadLetterStore
{
    private const string UpsertOffsetPg =
        "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) VALUES (@id, @seq, now()) ON CONFLICT (consumer_id) DO UPDATE SET sequence_nr = GREATEST(bus_offsets.sequence_nr, EXCLUDED.sequence_nr), updated_at = now()";

    private const string UpsertOffsetSqlite =
        "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) VALUES (@id, @seq, CURRENT_TIMESTAMP) ON CONFLICT (consumer_id) DO UPDATE SET sequence_nr = MAX(bus_offsets.sequence_nr, excluded.sequence_nr), updated_at = CURRENT_TIMESTAMP";

    /// <summary>The store these tables are in.</summary>
    public StoreSettings Settings => store;

    private bool Pg => store.Provider == StoreProvider.PostgreSql;

    /// <summary>An open connection to the store, after the bus's tables were created.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        await Schema.EnsureAsync(store, SchemaPart.Bus, ct);
        var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <inheritdoc />
    public async Task<long> LoadOffsetAsync(string consumerId, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence_nr FROM bus_offsets WHERE consumer_id = @id";
        command.AddParameter("id", consumerId);
        return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
    }

    /// <inheritdoc />
    public async Task SaveOffsetAsync(string consumerId, long sequenceNr, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = Pg ? UpsertOffsetPg : UpsertOffsetSqlite;
        command.AddParameter("id", consumerId);
        command.AddParameter("seq", sequenceNr);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <inheritdoc />
    public async Task<long> RegisterConsumerAsync(string consumerId, string retentionMarker, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct); // SQLite: an immediate transaction, the write lock
        if (Pg) await LockRetentionAsync(connection, tx, retentionMarker, ct);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = Pg
                ? "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) SELECT @id, COALESCE((SELECT sequence_nr FROM bus_offsets WHERE consumer_id = @m), 0), now() ON CONFLICT (consumer_id) DO NOTHING"
                : "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) SELECT @id, COALESCE((SELECT sequence_nr FROM bus_offsets WHERE consumer_id = @m), 0), CURRENT_TIMESTAMP ON CONFLICT (consumer_id) DO NOTHING";
            insert.AddParameter("id", consumerId);
            insert.AddParameter("m", retentionMarker);
            await insert.ExecuteNonQueryAsync(ct);
        }
        long offset;
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT sequence_nr FROM bus_offsets WHERE consumer_id = @id";
            read.AddParameter("id", consumerId);
            offset = Convert.ToInt64(await read.ExecuteScalarAsync(ct));
        }
        await tx.CommitAsync(ct);
        return offset;
    }

    // PostgreSQL: retention of a log and the registration of its consumers take this transaction-scoped lock (keyed by
    // the log's retention marker), so a consumer registered while retention runs is either seen by it or starts at the
    // floor it leaves. (On SQLite both run in immediate transactions, which the database's one write lock orders.)
    private static async Task LockRetentionAsync(DbConnection connection, DbTransaction tx, string retentionMarker, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT pg_advisory_xact_lock(hashtextextended(@m, 0))";
        command.AddParameter("m", retentionMarker);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <inheritdoc />
    public async Task<long> ApplyRetentionAsync(string persistenceId, string consumerPrefix, string retentionMarker,
        TimeSpan? maxAge, long? maxMessages, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        async Task<long?> Scalar(string sql, params (string Name, object Value)[] parameters)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            foreach (var (name, value) in parameters) command.AddParameter(name, value);
            return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : null;
        }
        var prefix = consumerPrefix;
        var marker = retentionMarker;
        if (Pg) await LockRetentionAsync(connection, tx, marker, ct);
        var floor = await Scalar("SELECT sequence_nr FROM bus_offsets WHERE consumer_id = @m", ("m", marker)) ?? 0;
        var slowest = await Scalar("SELECT MIN(sequence_nr) FROM bus_offsets WHERE substr(consumer_id, 1, @n) = @prefix AND consumer_id <> @m",
            ("n", prefix.Length), ("prefix", prefix), ("m", marker));
        var head = await Scalar("SELECT MAX(sequence_nr) FROM event_journal WHERE persistence_id = @pid", ("pid", persistenceId));
        if (slowest is null || head is null) return floor; // no group has consumed it yet, or nothing journaled
        long cut = 0;
        if (maxMessages is { } max) cut = Math.Max(cut, head.Value - max);
        if (maxAge is { } age)
            // A row's insert time is in .NET ticks: PostgreSQL's journal takes it from the database clock (so is "now"
            // here), SQLite's from the writer's (one process, one clock); the column is named per dialect.
            cut = Math.Max(cut, await Scalar(Pg
                ? "SELECT MAX(sequence_nr) FROM event_journal WHERE persistence_id = @pid AND created_at < (extract(epoch FROM clock_timestamp()) * 10000000)::bigint + 621355968000000000 - @age"
                : "SELECT MAX(sequence_nr) FROM event_journal WHERE persistence_id = @pid AND timestamp < @now - @age",
                ("pid", persistenceId), ("age", age.Ticks), ("now", DateTime.UtcNow.Ticks)) ?? 0);
        cut = Math.Min(cut, Math.Min(slowest.Value, head.Value - 1));
        if (cut <= floor) return floor;
        foreach (var sql in new[]
                 {
                     "DELETE FROM tags WHERE ordering_id IN (SELECT ordering FROM event_journal WHERE persistence_id = @pid AND sequence_nr <= @cut)",
                     "DELETE FROM event_journal WHERE persistence_id = @pid AND sequence_nr <= @cut",
                 })
        {
            await using var delete = connection.CreateCommand();
            delete.Transaction = tx;
            delete.CommandText = sql;
            delete.AddParameter("pid", persistenceId);
            delete.AddParameter("cut", cut);
            await delete.ExecuteNonQueryAsync(ct);
        }
        await using (var save = connection.CreateCommand())
        {
            save.Transaction = tx;
            save.CommandText = Pg ? UpsertOffsetPg : UpsertOffsetSqlite;
            save.AddParameter("id", marker);
            save.AddParameter("seq", cut);
            await save.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return cut;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredEvent>> ReadLogAsync(string persistenceId, long after, int limit, CancellationToken ct = default)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = Pg
            ? "SELECT sequence_nr, payload, manifest, serializer_id FROM event_journal WHERE persistence_id = @pid AND sequence_nr > @after AND is_deleted = false ORDER BY sequence_nr LIMIT @limit"
            : "SELECT sequence_nr, payload, manifest, serializer_id FROM event_journal WHERE persistence_id = @pid AND sequence_nr > @after AND is_deleted = 0 ORDER BY sequence_nr LIMIT @limit";
        command.AddParameter("pid", persistenceId);
        command.AddParameter("after", after);
        command.AddParameter("limit", (long)limit);
        var rows = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new StoredEvent(reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetString(2), Convert.ToInt32(reader.GetValue(3))));
        return rows;
    }

    /// <inheritdoc />
    public async Task<long> HeadAsync(string persistenceId, CancellationToken ct = default)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(sequence_nr) FROM event_journal WHERE persistence_id = @pid";
        command.AddParameter("pid", persistenceId);
        try
        {
            return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
        }
        catch (DbException)
        {
            return 0; // no journal table yet: nothing was ever journaled
        }
    }

    /// <inheritdoc />
    public async Task AddDeadLetterAsync(NewDeadLetter letter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO bus_dead_letters (queue, message_id, source_kind, source, type, data, published_at, correlation_id, headers, reason, attempts, subscriber)
            VALUES (@queue, @mid, @kind, @source, @type, @data, @published, @corr, @headers, @reason, @attempts, @subscriber)
            """;
        // Text columns cannot hold NUL on PostgreSQL; a message journaled before ids were validated, a remote peer's
        // headers or an exception message may carry one, and the row would then fail on every retry.
        command.AddParameter("queue", letter.Queue);
        command.AddParameter("mid", StoreErrors.Text(letter.MessageId));
        command.AddParameter("kind", letter.SourceKind);
        command.AddParameter("source", StoreErrors.Text(letter.Source));
        command.AddParameter("type", StoreErrors.Text(letter.Type));
        command.AddParameter("data", StoreErrors.Text(letter.Data));
        command.AddParameter("published", letter.PublishedAtTicks);
        command.AddParameter("corr", letter.CorrelationId is null ? null : StoreErrors.Text(letter.CorrelationId));
        command.AddParameter("headers", letter.Headers is null ? null : JsonSerializer.Serialize(letter.Headers)); // JSON escapes NUL
        command.AddParameter("reason", StoreErrors.Text(letter.Reason));
        command.AddParameter("attempts", letter.Attempts);
        command.AddParameter("subscriber", StoreErrors.Text(letter.Subscriber));
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredDeadLetter>> ListDeadLettersAsync(string queue, int limit, long afterId, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, message_id, source_kind, source, type, data, published_at, correlation_id, headers, reason, attempts, subscriber, dead_lettered_at
            FROM bus_dead_letters WHERE queue = @queue AND id > @after ORDER BY id LIMIT @limit
            """;
        command.AddParameter("queue", queue);
        command.AddParameter("after", afterId);
        command.AddParameter("limit", (long)limit);
        var list = new List<StoredDeadLetter>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var headers = reader.IsDBNull(8) ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(8));
            var at = reader.GetValue(12) switch
            {
                DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
                DateTimeOffset o => o,
                var other => DateTimeOffset.Parse(Convert.ToString(other, CultureInfo.InvariantCulture)!,
                    CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            };
            list.Add(new StoredDeadLetter(reader.GetInt64(0), queue, reader.GetString(1), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), reader.GetString(5), new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
                reader.IsDBNull(7) ? null : reader.GetString(7), headers ?? new Dictionary<string, string>(), reader.GetString(9),
                Convert.ToInt32(reader.GetValue(10)), reader.GetString(11), at));
        }
        return list;
    }

    /// <inheritdoc />
    public async Task<long> CountDeadLettersAsync(string queue, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM bus_dead_letters WHERE queue = @queue";
        command.AddParameter("queue", queue);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct));
    }

    /// <inheritdoc />
    public async Task<int> DeleteDeadLettersAsync(string queue, long? id, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = id is null
            ? "DELETE FROM bus_dead_letters WHERE queue = @queue"
            : "DELETE FROM bus_dead_letters WHERE queue = @queue AND id = @id";
        command.AddParameter("queue", queue);
        if (id is not null) command.AddParameter("id", id.Value);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
