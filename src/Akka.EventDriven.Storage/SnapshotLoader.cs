using System.Collections.Concurrent;
using System.Data.Common;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Akka.EventDriven.Storage;

/// <summary>
/// The snapshot half of a coalesced recovery (the journal's is in <see cref="BatchingJournal"/>): every
/// <see cref="LoadSnapshot"/> is queued, and up to two readers take everything queued (up to 500 requests) and answer
/// it with one query on the snapshot table of Akka.Persistence.Sql's mapping, so that a burst of cold loads costs a
/// few round trips instead of one per aggregate. Saves and deletes stay with the plugin. Its own circuit breaker, with
/// the store's settings, refuses loads at once while the database is down.
/// </summary>
internal sealed class SnapshotLoader
{
    private const int Readers = 2;
    private const int BatchSize = 500;

    private readonly ConcurrentQueue<(LoadSnapshot Request, IActorRef ReplyTo)> _queue = new();
    private readonly Func<IReadOnlyList<LoadSnapshot>, Action<int, SelectedSnapshot?, Exception?>, CancellationToken, Task> _read;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly CircuitBreaker _breaker;
    private readonly ILoggingAdapter _log;
    private readonly string _connectionString;
    private readonly string _systemName;
    private readonly CancellationTokenSource _stopping = new();
    private int _active;

    private SnapshotLoader(bool postgres, string connectionString, Akka.Serialization.Serialization serialization,
        CircuitBreaker breaker, ILoggingAdapter log, string systemName)
    {
        _systemName = systemName;
        _connectionString = connectionString;
        _serialization = serialization;
        _breaker = breaker;
        _log = log;
        _read = postgres ? ReadPostgreSqlAsync : ReadSqliteAsync;
    }

    /// <summary>A loader for the store configured by <paramref name="config"/>, or null when its table mapping is
    /// neither <c>postgresql</c> nor <c>sqlite</c> (then the plugin loads snapshots itself).</summary>
    public static SnapshotLoader? Create(Configuration.Config config, ActorSystem system, ILoggingAdapter log)
    {
        var mapping = config.GetString("table-mapping", "")?.Trim().ToLowerInvariant();
        if (mapping is not ("postgresql" or "sqlite")) return null;
        var callTimeout = config.GetTimeSpan("circuit-breaker.call-timeout", TimeSpan.FromSeconds(10));
        var breaker = new CircuitBreaker(system.Scheduler, config.GetInt("circuit-breaker.max-failures", 10),
            callTimeout > TimeSpan.Zero ? callTimeout : TimeSpan.FromSeconds(10),
            config.GetTimeSpan("circuit-breaker.reset-timeout", TimeSpan.FromSeconds(30)));
        return new SnapshotLoader(mapping == "postgresql", config.GetString("connection-string"), system.Serialization,
            breaker, log, system.Name);
    }

    /// <summary>Queues <paramref name="request"/>; the answer (<see cref="LoadSnapshotResult"/> or
    /// <see cref="LoadSnapshotFailed"/>) goes to <paramref name="replyTo"/>.</summary>
    public void Enqueue(LoadSnapshot request, IActorRef replyTo)
    {
        _queue.Enqueue((request, replyTo));
        TryStartReader();
    }

    /// <summary>Fails whatever is still queued and stops the readers.</summary>
    public void Stop()
    {
        _stopping.Cancel();
        while (_queue.TryDequeue(out var orphan))
            orphan.ReplyTo.Tell(new LoadSnapshotFailed(new InvalidOperationException("The snapshot store stopped.")));
    }

    private void TryStartReader()
    {
        while (!_queue.IsEmpty)
        {
            var active = Volatile.Read(ref _active);
            if (active >= Readers) return;
            if (Interlocked.CompareExchange(ref _active, active + 1, active) != active) continue;
            _ = Task.Run(ReadLoopAsync);
            return;
        }
    }

    private async Task ReadLoopAsync()
    {
        var batch = new List<(LoadSnapshot Request, IActorRef ReplyTo)>();
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                batch.Clear();
                while (batch.Count < BatchSize && _queue.TryDequeue(out var r)) batch.Add(r);
                if (batch.Count == 0) break;
                await LoadBatchAsync(batch);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _active);
            TryStartReader();
        }
    }

    private async Task LoadBatchAsync(List<(LoadSnapshot Request, IActorRef ReplyTo)> batch)
    {
        var requests = batch.Select(b => b.Request).ToArray();
        StorageMetrics.RecoveryBatch(_systemName, "snapshot", batch.Count);
        var answered = new bool[batch.Count];
        void Answer(int i, SelectedSnapshot? selected, Exception? error)
        {
            answered[i] = true;
            var (request, replyTo) = batch[i];
            replyTo.Tell(error is null
                ? new LoadSnapshotResult(selected, request.ToSequenceNr)
                : new LoadSnapshotFailed(error));
        }
        try
        {
            await _breaker.WithCircuitBreaker(_ => _read(requests, Answer, _stopping.Token));
            for (var i = 0; i < batch.Count; i++)
                if (!answered[i]) Answer(i, null, null); // no snapshot matches
        }
        catch (Exception e)
        {
            var cause = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
            if (cause is not OpenCircuitException)
                _log.Warning("Loading the snapshots of {0} aggregate(s) failed: {1}", batch.Count, cause.Message);
            for (var i = 0; i < batch.Count; i++)
                if (!answered[i]) Answer(i, null, cause);
        }
    }

    // SnapshotSelectionCriteria.Limit, which Akka keeps internal: no snapshot newer than the recovery's upper bound.
    private static SnapshotSelectionCriteria Limit(SnapshotSelectionCriteria c, long toSequenceNr) =>
        toSequenceNr < c.MaxSequenceNr
            ? new SnapshotSelectionCriteria(toSequenceNr, c.MaxTimeStamp, c.MinSequenceNr, c.MinTimestamp)
            : c;

    // One row per request that has a matching snapshot (the latest within its criteria); created_at is in ticks, as
    // Akka.Persistence.Sql stores it for both mappings.
    private const string PostgreSqlLoad = """
        SELECT r.n, s.sequence_nr, s.created_at, s.payload, s.manifest, s.serializer_id
        FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
             WITH ORDINALITY AS r(persistence_id, max_nr, max_ts, min_nr, min_ts, n)
        JOIN LATERAL (
          SELECT s.sequence_nr, s.created_at, s.payload, s.manifest, s.serializer_id FROM snapshot_store s
          WHERE s.persistence_id = r.persistence_id AND s.sequence_nr <= r.max_nr AND s.sequence_nr >= r.min_nr
            AND s.created_at <= r.max_ts AND s.created_at >= r.min_ts
          ORDER BY s.sequence_nr DESC LIMIT 1) s ON true
        """;

    private async Task ReadPostgreSqlAsync(IReadOnlyList<LoadSnapshot> requests, Action<int, SelectedSnapshot?, Exception?> answer,
        CancellationToken cancellationToken)
    {
        var n = requests.Count;
        var ids = new string[n];
        var maxNr = new long[n];
        var maxTs = new long[n];
        var minNr = new long[n];
        var minTs = new long[n];
        for (var i = 0; i < n; i++)
        {
            var c = Limit(requests[i].Criteria, requests[i].ToSequenceNr);
            ids[i] = requests[i].PersistenceId;
            maxNr[i] = c.MaxSequenceNr;
            maxTs[i] = c.MaxTimeStamp.Ticks;
            minNr[i] = c.MinSequenceNr;
            minTs[i] = c.MinTimestamp?.Ticks ?? 0;
        }
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(PostgreSqlLoad, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = maxNr, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = maxTs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = minNr, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = minTs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) AnswerRow(reader, (int)reader.GetInt64(0) - 1, requests, answer);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // No snapshot table yet (the journal creates it with its own): no snapshot was ever saved.
        }
    }

    private async Task ReadSqliteAsync(IReadOnlyList<LoadSnapshot> requests, Action<int, SelectedSnapshot?, Exception?> answer,
        CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction(deferred: true);
        await using var command = new SqliteCommand("""
            SELECT $i, sequence_nr, created_at, payload, manifest, serializer_id FROM snapshot
            WHERE persistence_id = $p AND sequence_nr <= $mn AND sequence_nr >= $nn AND created_at <= $mt AND created_at >= $nt
            ORDER BY sequence_nr DESC LIMIT 1
            """, connection, tx);
        var pi = command.Parameters.Add("$i", SqliteType.Integer);
        var pp = command.Parameters.Add("$p", SqliteType.Text);
        var pmn = command.Parameters.Add("$mn", SqliteType.Integer);
        var pnn = command.Parameters.Add("$nn", SqliteType.Integer);
        var pmt = command.Parameters.Add("$mt", SqliteType.Integer);
        var pnt = command.Parameters.Add("$nt", SqliteType.Integer);
        for (var i = 0; i < requests.Count; i++)
        {
            var c = Limit(requests[i].Criteria, requests[i].ToSequenceNr);
            pi.Value = i;
            pp.Value = requests[i].PersistenceId;
            pmn.Value = c.MaxSequenceNr;
            pnn.Value = c.MinSequenceNr;
            pmt.Value = c.MaxTimeStamp.Ticks;
            pnt.Value = c.MinTimestamp?.Ticks ?? 0;
            try
            {
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken)) AnswerRow(reader, i, requests, answer);
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 1 && e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                return; // no snapshot table yet (the plugin creates it when it starts): no snapshot was ever saved
            }
        }
    }

    // A snapshot that cannot be read fails its own request only.
    private void AnswerRow(DbDataReader reader, int index, IReadOnlyList<LoadSnapshot> requests,
        Action<int, SelectedSnapshot?, Exception?> answer)
    {
        var request = requests[index];
        try
        {
            var metadata = new SnapshotMetadata(request.PersistenceId, reader.GetInt64(1), new DateTime(reader.GetInt64(2)));
            var snapshot = SnapshotPayload.Deserialize(_serialization, (byte[])reader[3], reader.IsDBNull(5) ? null : reader.GetInt32(5),
                reader.IsDBNull(4) ? null : reader.GetString(4));
            answer(index, new SelectedSnapshot(metadata, snapshot), null);
        }
        catch (Exception e)
        {
            answer(index, null, e);
        }
    }
}
