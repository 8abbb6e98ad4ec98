using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace Akka.EventDriven.Storage;

/// <summary>
/// The PostgreSQL write journal of Akka.EventDriven (see <see cref="BatchingJournal"/>): the tables of
/// Akka.Persistence.Sql's <c>postgresql</c> mapping; a whole batch (journal rows and tag rows) is one prepared
/// statement over arrays.
/// </summary>
public sealed class PostgreSqlJournal : BatchingJournal
{
    // created_at is taken from the database clock when the row is inserted (in .NET ticks, as Akka.Persistence.Sql
    // stores it), so that projections can judge the age of a row on one clock whatever the writers' clocks say.
    private const string InsertSql = """
        WITH rows AS (
          INSERT INTO event_journal (created_at, is_deleted, persistence_id, sequence_nr, payload, manifest, serializer_id)
          SELECT (extract(epoch FROM clock_timestamp()) * 10000000)::bigint + 621355968000000000,
                 false, u.persistence_id, u.sequence_nr, u.payload, u.manifest, u.serializer_id
          FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[], $5::int[])
               WITH ORDINALITY AS u(persistence_id, sequence_nr, payload, manifest, serializer_id, n)
          ORDER BY u.n
          RETURNING ordering, persistence_id, sequence_nr
        )
        INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id)
        SELECT rows.ordering, t.tag, rows.sequence_nr, rows.persistence_id
        FROM rows JOIN unnest($6::text[], $7::bigint[], $8::text[]) AS t(persistence_id, sequence_nr, tag)
          ON t.persistence_id = rows.persistence_id AND t.sequence_nr = rows.sequence_nr
        """;

    // The tables are created by Schema (SchemaPart.Journal), which explains their columns, indexes and trigger.

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Created by Akka.Persistence from the plugin config (<c>connection-string</c>, <c>batch-size</c>,
    /// <c>parallelism</c>, <c>max-pool-size</c>: this journal's share of the node's connections).</summary>
    public PostgreSqlJournal(Config config) : base(config, config.GetInt("parallelism", 2))
    {
        var builder = new NpgsqlConnectionStringBuilder(
            StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, config.GetString("connection-string")));
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 20;
        // This pool is the journal's own, and its statements leave no session state behind (transactions end, locks are
        // transaction-scoped), so a connection going back to it is not reset: Npgsql would otherwise send four more
        // statements (RESET ALL, SET SESSION AUTHORIZATION, pg_advisory_unlock_all, DISCARD SEQUENCES) with the next
        // use of each connection.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose")) builder.NoResetOnClose = true;
        if (config.GetInt("max-pool-size", 0) is > 0 and var pool) builder.MaxPoolSize = pool;
        if (builder.MinPoolSize > builder.MaxPoolSize) builder.MinPoolSize = builder.MaxPoolSize;
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    // "53300: too many clients" comes at connection start, before anything is sent: waiting and retrying is safe, and
    // better than failing the command of an aggregate that merely loaded while the server was full.
    private async Task<NpgsqlConnection> OpenAsync()
    {
        var delay = TimeSpan.FromMilliseconds(50);
        for (var attempt = 1; ; attempt++)
        {
            try { return await _dataSource.OpenConnectionAsync(Stopping.Token); }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.TooManyConnections && attempt < 25)
            {
                if (attempt == 1) Log.Warning("PostgreSQL refused a journal connection ({0}); retrying with backoff", e.MessageText);
                await Task.Delay(delay, Stopping.Token);
                delay = TimeSpan.FromMilliseconds(Math.Min(2000, delay.TotalMilliseconds * 2));
            }
        }
    }

    /// <inheritdoc />
    protected override Task CreateSchemaAsync() =>
        Schema.CreateAsync(StoreProvider.PostgreSql, SchemaPart.Journal, async _ => await OpenAsync(),
            e => Log.Debug("Journal schema creation raced with another creator ({0}); trying again", ((PostgresException)e).SqlState),
            CancellationToken.None);

    /// <inheritdoc />
    protected override void DisposeStore() => _dataSource.Dispose();

    /// <inheritdoc />
    protected override bool IsConflict(Exception error) => error is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <inheritdoc />
    protected override bool IsPerWriteFailure(Exception error) => error is PostgresException { IsTransient: false };

    /// <inheritdoc />
    protected override async Task InsertAsync(IReadOnlyList<WriteRequest> batch)
    {
        var count = batch.Sum(r => r.Rows.Count);
        var ids = new string[count];
        var seqs = new long[count];
        var payloads = new byte[count][];
        var manifests = new string?[count];
        var serializers = new int[count];
        var tagIds = new List<string>();
        var tagSeqs = new List<long>();
        var tags = new List<string>();
        var i = 0;
        foreach (var request in batch)
            foreach (var row in request.Rows)
            {
                ids[i] = row.PersistenceId;
                seqs[i] = row.SequenceNr;
                payloads[i] = row.Payload;
                manifests[i] = row.Manifest;
                serializers[i] = row.SerializerId;
                foreach (var tag in row.Tags)
                {
                    tagIds.Add(row.PersistenceId);
                    tagSeqs.Add(row.SequenceNr);
                    tags.Add(tag);
                }
                i++;
            }

        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(InsertSql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = seqs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = manifests, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = serializers, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = tagIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = tagSeqs.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = tags.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(Stopping.Token);
    }

    /// <inheritdoc />
    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr,
        long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0) return;
        await EnsureSchema();
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT sequence_nr, created_at, payload, manifest, serializer_id FROM event_journal
            WHERE persistence_id = $1 AND sequence_nr >= $2 AND sequence_nr <= $3 AND is_deleted = false
            ORDER BY sequence_nr LIMIT $4
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromSequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toSequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = max });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var seq = reader.GetInt64(0);
            var payload = Deserialize((byte[])reader[2], reader.GetInt32(4), reader.IsDBNull(3) ? null : reader.GetString(3));
            recoveryCallback(new Persistent(payload, seq, persistenceId, "", false, ActorRefs.NoSender, null, reader.GetInt64(1)));
        }
    }

    // Every request of a batch in one statement, so one snapshot of the tables: for a request with_snapshot, its latest
    // snapshot (a row with is_snapshot true); its highest sequence number (deleted rows included: the highest is kept,
    // marked deleted, so that numbers never go back) and its events up to that number, after the snapshot. A stream
    // never written still yields one row (highest 0, no event).
    private const string RecoveriesSql = """
        WITH r AS (
          SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::boolean[])
            WITH ORDINALITY AS r(persistence_id, from_nr, to_nr, max_n, with_snapshot, n)
        ), rs AS (
          SELECT r.persistence_id, r.from_nr, r.to_nr, r.max_n, r.n, s.sequence_nr AS snapshot_nr, s.created_at,
                 s.payload, s.manifest, s.serializer_id
          FROM r LEFT JOIN LATERAL (
            SELECT s.sequence_nr, s.created_at, s.payload, s.manifest, s.serializer_id FROM snapshot_store s
            WHERE r.with_snapshot AND s.persistence_id = r.persistence_id
            ORDER BY s.sequence_nr DESC LIMIT 1) s ON true
        )
        SELECT rs.n, true AS is_snapshot, 0::bigint AS highest, rs.snapshot_nr, rs.created_at, rs.payload, rs.manifest,
               rs.serializer_id
        FROM rs WHERE rs.snapshot_nr IS NOT NULL
        UNION ALL
        SELECT rs.n, false, coalesce(h.highest, 0), e.sequence_nr, e.created_at, e.payload, e.manifest, e.serializer_id
        FROM rs
        CROSS JOIN LATERAL (SELECT max(sequence_nr) AS highest FROM event_journal j WHERE j.persistence_id = rs.persistence_id) h
        LEFT JOIN LATERAL (
          SELECT j.sequence_nr, j.created_at, j.payload, j.manifest, j.serializer_id FROM event_journal j
          WHERE j.persistence_id = rs.persistence_id AND j.sequence_nr >= greatest(rs.from_nr, coalesce(rs.snapshot_nr, 0) + 1)
            AND j.sequence_nr <= least(rs.to_nr, h.highest) AND j.is_deleted = false
          ORDER BY j.sequence_nr LIMIT rs.max_n) e ON true
        ORDER BY 1, 2 DESC, 4
        """;

    /// <inheritdoc />
    protected override async Task ReadRecoveriesAsync(IReadOnlyList<RecoveryRequest> requests, RecoveryRows rows,
        CancellationToken cancellationToken)
    {
        var ids = new string[requests.Count];
        var from = new long[requests.Count];
        var to = new long[requests.Count];
        var max = new long[requests.Count];
        var withSnapshot = new bool[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            ids[i] = requests[i].PersistenceId;
            from[i] = requests[i].FromSequenceNr;
            to[i] = requests[i].ToSequenceNr;
            max[i] = Math.Max(0, requests[i].Max);
            withSnapshot[i] = requests[i].WithSnapshot;
        }
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(RecoveriesSql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = max, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = withSnapshot, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var current = -1;
        while (await reader.ReadAsync(cancellationToken))
        {
            var index = (int)reader.GetInt64(0) - 1;
            if (reader.GetBoolean(1))
            {
                rows.Snapshot(index, reader.GetInt64(3), reader.GetInt64(4), reader.IsDBNull(5) ? [] : (byte[])reader[5],
                    reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.IsDBNull(6) ? null : reader.GetString(6));
                continue;
            }
            if (index != current)
            {
                rows.Highest(index, reader.GetInt64(2));
                current = index;
            }
            if (reader.IsDBNull(3)) continue;
            rows.Event(index, reader.GetInt64(3), reader.GetInt64(4), (byte[])reader[5], reader.GetInt32(7),
                reader.IsDBNull(6) ? null : reader.GetString(6));
        }
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr,
        CancellationToken cancellationToken)
    {
        await WaitForWritesAsync(persistenceId);
        await EnsureSchema();
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT max(sequence_nr) FROM event_journal WHERE persistence_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        return await command.ExecuteScalarAsync(cancellationToken) is long highest ? highest : 0L;
    }

    /// <inheritdoc />
    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr,
        CancellationToken cancellationToken)
    {
        // Like Akka.Persistence.Sql: the highest row is kept (marked deleted) so the sequence number never goes back.
        await EnsureSchema();
        await using var connection = await OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using (var batch = new NpgsqlBatch(connection, tx))
        {
            foreach (var sql in new[]
                     {
                         """
                         DELETE FROM tags WHERE ordering_id IN
                           (SELECT ordering FROM event_journal WHERE persistence_id = $1 AND sequence_nr <= $2)
                         """,
                         """
                         DELETE FROM event_journal WHERE persistence_id = $1 AND sequence_nr <= $2
                           AND sequence_nr < (SELECT max(sequence_nr) FROM event_journal WHERE persistence_id = $1)
                         """,
                         "UPDATE event_journal SET is_deleted = true WHERE persistence_id = $1 AND sequence_nr <= $2",
                     })
            {
                var command = new NpgsqlBatchCommand(sql);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toSequenceNr });
                batch.BatchCommands.Add(command);
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync();
    }
}
