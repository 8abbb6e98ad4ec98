using System.Collections.Immutable;
using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Npgsql;
using NpgsqlTypes;

namespace Akka.EventDriven.EventSourcing.Storage;

/// <summary>
/// The PostgreSQL write journal of Akka.EventDriven: the same tables as Akka.Persistence.Sql's <c>postgresql</c>
/// mapping (<c>event_journal</c>, <c>tags</c>), so its read journal and snapshot store work unchanged, but writes
/// are group-committed: every write request that arrives while a batch is being stored joins the next batch, and a
/// whole batch (journal rows and tag rows) is one prepared statement over arrays, in one transaction.
/// A write is acknowledged only after that transaction commits. If a batch fails, its requests are retried one by
/// one so that a single bad write (say, a sequence-number clash from a second writer) fails only its own actor.
/// </summary>
public sealed class PostgreSqlJournal : AsyncWriteJournal
{
    private const string InsertSql = """
        WITH rows AS (
          INSERT INTO event_journal (created_at, is_deleted, persistence_id, sequence_nr, payload, manifest, serializer_id)
          SELECT u.created_at, false, u.persistence_id, u.sequence_nr, u.payload, u.manifest, u.serializer_id
          FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], $6::int[])
               WITH ORDINALITY AS u(created_at, persistence_id, sequence_nr, payload, manifest, serializer_id, n)
          ORDER BY u.n
          RETURNING ordering, persistence_id, sequence_nr
        )
        INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id)
        SELECT rows.ordering, t.tag, rows.sequence_nr, rows.persistence_id
        FROM rows JOIN unnest($7::text[], $8::bigint[], $9::text[]) AS t(persistence_id, sequence_nr, tag)
          ON t.persistence_id = rows.persistence_id AND t.sequence_nr = rows.sequence_nr
        """;

    // The tables and column names of Akka.Persistence.Sql's postgresql mapping, so that its read journal and its own
    // journal can use them. Created here with only the indexes reads need: the journal's primary key and
    // (persistence_id, sequence_nr), and tags by (tag, ordering_id) for EventsByTag. Existing tables are left as they are.
    private const string CreateSchemaSql = """
        SELECT pg_advisory_xact_lock(7415533);
        CREATE TABLE IF NOT EXISTS event_journal (
          ordering bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT "PK_event_journal" PRIMARY KEY,
          created_at bigint NOT NULL,
          is_deleted boolean NOT NULL,
          persistence_id text NOT NULL,
          sequence_nr bigint NOT NULL,
          payload bytea NOT NULL,
          manifest text,
          serializer_id integer,
          CONSTRAINT event_journal_uq UNIQUE (persistence_id, sequence_nr));
        CREATE TABLE IF NOT EXISTS tags (
          ordering_id bigint NOT NULL,
          tag text NOT NULL,
          sequence_nr bigint NOT NULL,
          persistence_id text NOT NULL,
          CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag));
        CREATE INDEX IF NOT EXISTS tags_tag_ordering_idx ON tags (tag, ordering_id);
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly ConcurrentQueue<WriteRequest> _queue = new();
    private readonly int _batchSize;
    private readonly int _parallelism;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _schema;
    private readonly object _schemaLock = new();
    private int _activeWriters;

    /// <summary>Created by Akka.Persistence from the plugin config (<c>connection-string</c>, <c>batch-size</c>,
    /// <c>parallelism</c>).</summary>
    public PostgreSqlJournal(Config config)
    {
        var builder = new NpgsqlConnectionStringBuilder(
            StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, config.GetString("connection-string")));
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 20;
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        _serialization = Context.System.Serialization;
        _batchSize = Math.Max(1, config.GetInt("batch-size", 2000));
        _parallelism = Math.Max(1, config.GetInt("parallelism", 2));
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        _ = EnsureSchema();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _stopping.Cancel();
        while (_queue.TryDequeue(out var orphan)) orphan.Done.TrySetException(new InvalidOperationException("The journal stopped."));
        _dataSource.Dispose();
        base.PostStop();
    }

    /// <summary>The schema task; a failed attempt (database not reachable yet) is retried by the next caller.</summary>
    private Task EnsureSchema()
    {
        lock (_schemaLock)
        {
            if (_schema is null || _schema.IsFaulted || _schema.IsCanceled) _schema = CreateSchemaAsync();
            return _schema;
        }
    }

    private async Task CreateSchemaAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand(CreateSchemaSql, connection, tx)) await command.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    /// <summary>Akka.Persistence.Sql's read journal asks its write journal (with its internal <c>IsInitialized</c>
    /// message) whether the tables exist before its first query; answer the same way once the schema is in place.</summary>
    protected override bool ReceivePluginInternal(object message)
    {
        if (message.GetType() != SqlPluginProtocol.IsInitialized) return false;
        var sender = Sender;
        EnsureSchema().ContinueWith(t => sender.Tell(t.IsCompletedSuccessfully
            ? SqlPluginProtocol.Initialized
            : new Status.Failure(t.Exception!.GetBaseException())), TaskScheduler.Default);
        return true;
    }

    private static class SqlPluginProtocol
    {
        private static readonly System.Reflection.Assembly Plugin = typeof(Akka.Persistence.Sql.Query.SqlReadJournal).Assembly;
        public static readonly Type? IsInitialized = Plugin.GetType("Akka.Persistence.Sql.Utility.IsInitialized");
        public static readonly object? Initialized = Plugin.GetType("Akka.Persistence.Sql.Utility.Initialized")
            ?.GetField("Instance", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null);
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages,
        CancellationToken cancellationToken)
    {
        // Serialize here, per atomic write, so that a payload that cannot be serialized rejects only its own write.
        var writes = messages.ToArray();
        var request = new WriteRequest(writes.Length);
        for (var i = 0; i < writes.Length; i++)
        {
            try { request.Add(Serialize(writes[i])); }
            catch (Exception e) { request.Reject(i, e); }
        }
        if (request.Rows.Count == 0) return request.Results;
        _queue.Enqueue(request);
        // A request given up on (circuit-breaker timeout) before a writer took it is never written.
        await using var registration = cancellationToken.Register(static r => ((WriteRequest)r!).TryCancel(), request);
        // Group commit without a hand-off: if fewer than `parallelism` writers are busy, this call becomes one and
        // stores everything queued so far (its own request included); otherwise a busy writer takes it next.
        if (TryBecomeWriter()) _ = DrainAsync();
        await request.Done.Task.WaitAsync(cancellationToken);
        return request.Results;
    }

    private List<Row> Serialize(AtomicWrite write)
    {
        var created = DateTime.UtcNow.Ticks;
        var rows = new List<Row>();
        foreach (var p in (IImmutableList<IPersistentRepresentation>)write.Payload)
        {
            var payload = p.Payload;
            IImmutableSet<string> tags = ImmutableHashSet<string>.Empty;
            if (payload is Tagged tagged)
            {
                payload = tagged.Payload;
                tags = tagged.Tags;
            }
            var serializer = _serialization.FindSerializerFor(payload);
            var bytes = serializer.ToBinary(payload);
            var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
            rows.Add(new Row(created, p.PersistenceId, p.SequenceNr, bytes, manifest, serializer.Identifier, tags));
        }
        return rows;
    }

    private bool TryBecomeWriter()
    {
        while (true)
        {
            var active = Volatile.Read(ref _activeWriters);
            if (active >= _parallelism) return false;
            if (Interlocked.CompareExchange(ref _activeWriters, active + 1, active) == active) return true;
        }
    }

    private async Task DrainAsync()
    {
        var batch = new List<WriteRequest>();
        while (true)
        {
            batch.Clear();
            var events = 0;
            while (events < _batchSize && _queue.TryDequeue(out var request))
            {
                if (!request.TryStart()) continue; // cancelled while queued
                batch.Add(request);
                events += request.Rows.Count;
            }
            if (batch.Count == 0)
            {
                Interlocked.Decrement(ref _activeWriters);
                // A request enqueued after the queue looked empty, and before this writer left, must not be stranded.
                if (_queue.IsEmpty || !TryBecomeWriter()) return;
                continue;
            }
            await StoreAsync(batch);
        }
    }

    private async Task StoreAsync(List<WriteRequest> batch)
    {
        try
        {
            await EnsureSchema();
            await InsertAsync(batch);
            foreach (var r in batch) r.Done.TrySetResult();
        }
        catch (Exception e) when (batch.Count > 1)
        {
            _log.Warning("A batch of {0} writes failed ({1}); retrying them one by one", batch.Count, e.Message);
            foreach (var r in batch)
            {
                try
                {
                    await InsertAsync([r]);
                    r.Done.TrySetResult();
                }
                catch (Exception single)
                {
                    r.Done.TrySetException(single);
                }
            }
        }
        catch (Exception e)
        {
            batch[0].Done.TrySetException(e);
        }
    }

    private async Task InsertAsync(IReadOnlyList<WriteRequest> batch)
    {
        var count = batch.Sum(r => r.Rows.Count);
        var created = new long[count];
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
                created[i] = row.Created;
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

        await using var command = _dataSource.CreateCommand(InsertSql);
        command.Parameters.Add(new NpgsqlParameter { Value = created, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = seqs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = manifests, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = serializers, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = tagIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = tagSeqs.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = tags.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(_stopping.Token);
    }

    /// <inheritdoc />
    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr,
        long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0) return;
        await EnsureSchema();
        await using var command = _dataSource.CreateCommand("""
            SELECT sequence_nr, created_at, payload, manifest, serializer_id FROM event_journal
            WHERE persistence_id = $1 AND sequence_nr >= $2 AND sequence_nr <= $3 AND is_deleted = false
            ORDER BY sequence_nr LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromSequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toSequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = max });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var seq = reader.GetInt64(0);
            var payload = _serialization.Deserialize((byte[])reader[2], reader.GetInt32(4), reader.IsDBNull(3) ? "" : reader.GetString(3));
            recoveryCallback(new Persistent(payload, seq, persistenceId, "", false, ActorRefs.NoSender, null, reader.GetInt64(1)));
        }
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr,
        CancellationToken cancellationToken)
    {
        await EnsureSchema();
        await using var command = _dataSource.CreateCommand("SELECT max(sequence_nr) FROM event_journal WHERE persistence_id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        return await command.ExecuteScalarAsync(cancellationToken) is long highest ? highest : 0L;
    }

    /// <inheritdoc />
    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr,
        CancellationToken cancellationToken)
    {
        // Like Akka.Persistence.Sql: the highest row is kept (marked deleted) so the sequence number never goes back.
        await EnsureSchema();
        await using var connection = await _dataSource.OpenConnectionAsync();
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

    private sealed record Row(long Created, string PersistenceId, long SequenceNr, byte[] Payload, string? Manifest,
        int SerializerId, IImmutableSet<string> Tags);

    private sealed class WriteRequest(int writes)
    {
        private const int Queued = 0, Started = 1, Cancelled = 2;
        private int _state;
        private Exception?[]? _rejections;
        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;
        public void TryCancel()
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
                Done.TrySetCanceled();
        }
        public List<Row> Rows { get; } = [];
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public IImmutableList<Exception?> Results => _rejections is null ? null! : _rejections.ToImmutableList();
        public void Add(List<Row> rows) => Rows.AddRange(rows);
        public void Reject(int index, Exception e) => (_rejections ??= new Exception?[writes])[index] = e;
    }
}
