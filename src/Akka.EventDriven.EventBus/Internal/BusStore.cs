using System.Data.Common;
using System.Text.Json;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>The bus's own tables, in the event store's database: consumer offsets and dead letters.</summary>
internal sealed class BusStore(StoreSettings store)
{
    public StoreSettings Settings => store;
    private bool Pg => store.Provider == StoreProvider.PostgreSql;

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        await EnsureTablesAsync();
        var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <summary>Creates the tables once per database (<see cref="Schema.EnsureAsync"/>); a failed attempt (the
    /// database was down) is forgotten, so the next call tries again.</summary>
    private Task EnsureTablesAsync() => Schema.EnsureAsync(store, SchemaPart.Bus);

    public async Task<long> LoadOffsetAsync(string consumerId)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence_nr FROM bus_offsets WHERE consumer_id = @id";
        command.AddParameter("id", consumerId);
        return await command.ExecuteScalarAsync() is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
    }

    public async Task SaveOffsetAsync(string consumerId, long sequenceNr)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = Pg
            ? "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) VALUES (@id, @seq, now()) ON CONFLICT (consumer_id) DO UPDATE SET sequence_nr = GREATEST(bus_offsets.sequence_nr, EXCLUDED.sequence_nr), updated_at = now()"
            : "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) VALUES (@id, @seq, CURRENT_TIMESTAMP) ON CONFLICT (consumer_id) DO UPDATE SET sequence_nr = MAX(bus_offsets.sequence_nr, excluded.sequence_nr), updated_at = CURRENT_TIMESTAMP";
        command.AddParameter("id", consumerId);
        command.AddParameter("seq", sequenceNr);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The offset row that records how far retention deleted a log (group names cannot contain '$').</summary>
    public static string RetentionMarker(string logId) => BusNames.Consumer(logId, "$retained");

    /// <summary>Where consumer <paramref name="consumerId"/> of <paramref name="logId"/> starts: its stored offset, or
    /// the retention floor when retention deleted past it (a group that never consumed the log).</summary>
    public async Task<long> LoadStartAsync(string consumerId, string logId) =>
        Math.Max(await LoadOffsetAsync(consumerId), await LoadOffsetAsync(RetentionMarker(logId)));

    /// <summary>Deletes the oldest rows of log <paramref name="logId"/>: those older than <paramref name="maxAge"/> or
    /// beyond the newest <paramref name="maxMessages"/>, but none after the slowest group's stored offset and never the
    /// newest row (it keeps the log's highest sequence number). Returns the floor (0 when nothing was ever deleted).</summary>
    public async Task<long> ApplyRetentionAsync(string logId, string persistenceId, TimeSpan? maxAge, long? maxMessages)
    {
        await using var connection = await OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        async Task<long?> Scalar(string sql, params (string Name, object Value)[] parameters)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            foreach (var (name, value) in parameters) command.AddParameter(name, value);
            return await command.ExecuteScalarAsync() is { } v and not DBNull ? Convert.ToInt64(v) : null;
        }
        var prefix = BusNames.Consumer(logId, "");
        var marker = RetentionMarker(logId);
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
            await delete.ExecuteNonQueryAsync();
        }
        await using (var save = connection.CreateCommand())
        {
            save.Transaction = tx;
            save.CommandText = Pg
                ? "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) VALUES (@id, @seq, now()) ON CONFLICT (consumer_id) DO UPDATE SET sequence_nr = GREATEST(bus_offsets.sequence_nr, EXCLUDED.sequence_nr), updated_at = now()"
                : "INSERT INTO bus_offsets (consumer_id, sequence_nr, updated_at) VALUES (@id, @seq, CURRENT_TIMESTAMP) ON CONFLICT (consumer_id) DO UPDATE SET sequence_nr = MAX(bus_offsets.sequence_nr, excluded.sequence_nr), updated_at = CURRENT_TIMESTAMP";
            save.AddParameter("id", marker);
            save.AddParameter("seq", cut);
            await save.ExecuteNonQueryAsync();
        }
        await tx.CommitAsync();
        return cut;
    }

    /// <summary>Journal rows of <paramref name="persistenceId"/> after <paramref name="after"/>, in order.</summary>
    public async Task<List<(long Seq, byte[] Payload, string Manifest, int SerializerId)>> ReadLogAsync(
        string persistenceId, long after, int limit)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = Pg
            ? "SELECT sequence_nr, payload, manifest, serializer_id FROM event_journal WHERE persistence_id = @pid AND sequence_nr > @after AND is_deleted = false ORDER BY sequence_nr LIMIT @limit"
            : "SELECT sequence_nr, payload, manifest, serializer_id FROM event_journal WHERE persistence_id = @pid AND sequence_nr > @after AND is_deleted = 0 ORDER BY sequence_nr LIMIT @limit";
        command.AddParameter("pid", persistenceId);
        command.AddParameter("after", after);
        command.AddParameter("limit", (long)limit);
        var rows = new List<(long, byte[], string, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add((reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetString(2), Convert.ToInt32(reader.GetValue(3))));
        return rows;
    }

    /// <summary>Highest sequence number of <paramref name="persistenceId"/> (0 when empty).</summary>
    public async Task<long> HeadAsync(string persistenceId)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(sequence_nr) FROM event_journal WHERE persistence_id = @pid";
        command.AddParameter("pid", persistenceId);
        try
        {
            return await command.ExecuteScalarAsync() is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
        }
        catch (DbException)
        {
            return 0; // no journal table yet: nothing was ever journaled
        }
    }

    public async Task AddDeadLetterAsync(string queue, string sourceKind, BusEnvelope message, string reason, int attempts, string subscriber)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO bus_dead_letters (queue, message_id, source_kind, source, type, data, published_at, correlation_id, headers, reason, attempts, subscriber)
            VALUES (@queue, @mid, @kind, @source, @type, @data, @published, @corr, @headers, @reason, @attempts, @subscriber)
            """;
        // Text columns cannot hold NUL on PostgreSQL; a message journaled before ids were validated, a remote peer's
        // headers or an exception message may carry one, and the row would then fail on every retry.
        command.AddParameter("queue", queue);
        command.AddParameter("mid", Text(message.Id));
        command.AddParameter("kind", sourceKind);
        command.AddParameter("source", Text(message.Topic));
        command.AddParameter("type", Text(message.Type));
        command.AddParameter("data", Text(System.Text.Encoding.UTF8.GetString(message.Data)));
        command.AddParameter("published", message.PublishedAtTicks);
        command.AddParameter("corr", message.CorrelationId is null ? null : Text(message.CorrelationId));
        command.AddParameter("headers", message.Headers is null ? null : JsonSerializer.Serialize(message.Headers)); // JSON escapes NUL
        command.AddParameter("reason", Text(reason));
        command.AddParameter("attempts", attempts);
        command.AddParameter("subscriber", Text(subscriber));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>NUL written as the JSON escape <c>\u0000</c> (readable, and accepted by every text column).</summary>
    internal static string Text(string value) => StoreErrors.Text(value);

    /// <summary>True for a database error that retrying the same row cannot fix: PostgreSQL's data exceptions (22xxx),
    /// integrity violations (23xxx) and syntax/access errors (42xxx); SQLite's too big (18), constraint (19) and type
    /// mismatch (20).</summary>
    internal static bool IsPermanent(Exception e) => StoreErrors.IsPermanent(e);

    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string queue, int limit, long afterId)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, message_id, source_kind, source, type, data, published_at, correlation_id, headers, reason, attempts, subscriber, dead_lettered_at
            FROM bus_dead_letters WHERE queue = @queue AND id > @after ORDER BY id LIMIT @limit
            """;
        command.AddParameter("queue", queue);
        command.AddParameter("after", afterId);
        command.AddParameter("limit", (long)limit);
        var list = new List<DeadLetter>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var headers = reader.IsDBNull(8) ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(8));
            var at = reader.GetValue(12) switch
            {
                DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
                DateTimeOffset o => o,
                var other => DateTimeOffset.Parse(Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture)!,
                    System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal),
            };
            list.Add(new DeadLetter(reader.GetInt64(0), queue, reader.GetString(1), Enum.Parse<DeadLetterSource>(reader.GetString(2), true),
                reader.GetString(3), reader.GetString(4), reader.GetString(5), new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
                reader.IsDBNull(7) ? null : reader.GetString(7), headers ?? new Dictionary<string, string>(), reader.GetString(9),
                Convert.ToInt32(reader.GetValue(10)), reader.GetString(11), at));
        }
        return list;
    }

    public async Task<long> CountDeadLettersAsync(string queue)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM bus_dead_letters WHERE queue = @queue";
        command.AddParameter("queue", queue);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>Deletes one dead letter (id &gt; 0) or all of a queue (id null); returns how many went.</summary>
    public async Task<int> DeleteDeadLettersAsync(string queue, long? id)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = id is null
            ? "DELETE FROM bus_dead_letters WHERE queue = @queue"
            : "DELETE FROM bus_dead_letters WHERE queue = @queue AND id = @id";
        command.AddParameter("queue", queue);
        if (id is not null) command.AddParameter("id", id.Value);
        return await command.ExecuteNonQueryAsync();
    }
}
