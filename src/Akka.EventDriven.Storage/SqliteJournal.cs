using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Data.Sqlite;

namespace Akka.EventDriven.Storage;

/// <summary>
/// The SQLite write journal of Akka.EventDriven (see <see cref="BatchingJournal"/>): the tables of Akka.Persistence.Sql's
/// <c>sqlite</c> mapping, one writer (SQLite has one), and a whole batch in one transaction on a connection kept open,
/// so an embedded node pays one commit per batch instead of one per event.
/// </summary>
public sealed class SqliteJournal : BatchingJournal
{
    private readonly string _connectionString;
    private SqliteConnection? _writer;

    /// <summary>Created by Akka.Persistence from the plugin config (<c>connection-string</c>, <c>batch-size</c>).</summary>
    public SqliteJournal(Config config) : base(config, parallelism: 1) =>
        _connectionString = config.GetString("connection-string");

    /// <inheritdoc />
    protected override Task CreateSchemaAsync() =>
        Schema.CreateAsync(StoreProvider.Sqlite, SchemaPart.Journal, async _ => await OpenAsync(writer: true), null,
            CancellationToken.None);

    private async Task<SqliteConnection> OpenAsync(bool writer = false)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        if (writer)
        {
            // WAL: readers (recovery, queries) never wait for the writer; FULL: a commit is durable when it returns.
            await using var pragma = new SqliteCommand("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", connection);
            await pragma.ExecuteNonQueryAsync();
        }
        return connection;
    }

    private readonly SemaphoreSlim _writerLock = new(1, 1);

    /// <inheritdoc />
    protected override void DisposeStore()
    {
        // A writer may still be committing on a pool thread: the connection is disposed once it lets go (waiting
        // writers were cancelled by Stopping). Never block the actor's thread for it: PostStop runs on the dispatcher.
        if (_writerLock.Wait(0))
        {
            DisposeWriter();
            return;
        }
        _ = Task.Run(async () =>
        {
            if (await _writerLock.WaitAsync(TimeSpan.FromSeconds(30))) DisposeWriter();
        });
    }

    private void DisposeWriter()
    {
        _writer?.Dispose();
        _writer = null;
    }

    /// <inheritdoc />
    protected override bool IsConflict(Exception error) => error is SqliteException { SqliteErrorCode: 19 }; // SQLITE_CONSTRAINT

    /// <inheritdoc />
    protected override bool IsPerWriteFailure(Exception error) =>
        // Not busy/locked (5, 6), I/O (10), full (13) or cannot-open (14): those fail every write alike.
        error is SqliteException { SqliteErrorCode: not (5 or 6 or 10 or 13 or 14) };

    /// <inheritdoc />
    protected override bool CompletesSynchronously => true;

    /// <inheritdoc />
    protected override async Task InsertAsync(IReadOnlyList<WriteRequest> batch)
    {
        // One writer at a time (parallelism 1), so the connection and its prepared commands are used by one batch.
        await _writerLock.WaitAsync(Stopping.Token);
        try
        {
            _writer ??= await OpenAsync(writer: true);
            await using var tx = (SqliteTransaction)await _writer.BeginTransactionAsync(Stopping.Token);
            await using var insert = new SqliteCommand("""
                INSERT INTO event_journal (timestamp, is_deleted, persistence_id, sequence_nr, payload, manifest, serializer_id)
                VALUES ($t, 0, $p, $s, $b, $m, $z) RETURNING ordering
                """, _writer, tx);
            var t = insert.Parameters.Add("$t", SqliteType.Integer);
            var p = insert.Parameters.Add("$p", SqliteType.Text);
            var s = insert.Parameters.Add("$s", SqliteType.Integer);
            var b = insert.Parameters.Add("$b", SqliteType.Blob);
            var m = insert.Parameters.Add("$m", SqliteType.Text);
            var z = insert.Parameters.Add("$z", SqliteType.Integer);
            await using var tag = new SqliteCommand(
                "INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES ($o, $g, $s, $p)", _writer, tx);
            var to = tag.Parameters.Add("$o", SqliteType.Integer);
            var tg = tag.Parameters.Add("$g", SqliteType.Text);
            var ts = tag.Parameters.Add("$s", SqliteType.Integer);
            var tp = tag.Parameters.Add("$p", SqliteType.Text);
            foreach (var request in batch)
                foreach (var row in request.Rows)
                {
                    t.Value = DateTime.UtcNow.Ticks; // insert time (the row's age is judged by projections)
                    p.Value = row.PersistenceId;
                    s.Value = row.SequenceNr;
                    b.Value = row.Payload;
                    m.Value = (object?)row.Manifest ?? DBNull.Value;
                    z.Value = row.SerializerId;
                    var ordering = (long)(await insert.ExecuteScalarAsync(Stopping.Token))!;
                    foreach (var name in row.Tags)
                    {
                        to.Value = ordering;
                        tg.Value = name;
                        ts.Value = row.SequenceNr;
                        tp.Value = row.PersistenceId;
                        await tag.ExecuteNonQueryAsync(Stopping.Token);
                    }
                }
            await tx.CommitAsync(Stopping.Token);
        }
        catch
        {
            // A broken connection must not be reused; the next batch opens a fresh one (not the pooled handle).
            if (_writer is not null) SqliteConnection.ClearPool(_writer);
            _writer?.Dispose();
            _writer = null;
            throw;
        }
        finally
        {
            _writerLock.Release();
        }
    }

    /// <inheritdoc />
    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr,
        long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0) return;
        await EnsureSchema();
        await using var connection = await OpenAsync();
        await using var command = new SqliteCommand("""
            SELECT sequence_nr, timestamp, payload, manifest, serializer_id FROM event_journal
            WHERE persistence_id = $p AND sequence_nr >= $f AND sequence_nr <= $t AND is_deleted = 0
            ORDER BY sequence_nr LIMIT $n
            """, connection);
        command.Parameters.AddWithValue("$p", persistenceId);
        command.Parameters.AddWithValue("$f", fromSequenceNr);
        command.Parameters.AddWithValue("$t", toSequenceNr);
        command.Parameters.AddWithValue("$n", max);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var payload = Deserialize((byte[])reader[2], reader.GetInt32(4), reader.IsDBNull(3) ? null : reader.GetString(3));
            recoveryCallback(new Persistent(payload, reader.GetInt64(0), persistenceId, "", false, ActorRefs.NoSender, null,
                reader.GetInt64(1)));
        }
    }

    /// <inheritdoc />
    protected override async Task ReadRecoveriesAsync(IReadOnlyList<RecoveryRequest> requests, RecoveryRows rows,
        CancellationToken cancellationToken)
    {
        // SQLite runs in this process: what a load costs is a connection and a statement, not a round trip. One
        // connection, one read transaction (a consistent view; WAL lets it run beside the writer) and three prepared
        // statements serve the whole batch.
        await using var connection = await OpenAsync();
        await using var tx = connection.BeginTransaction(deferred: true);
        await using var highest = new SqliteCommand("SELECT max(sequence_nr) FROM event_journal WHERE persistence_id = $p", connection, tx);
        var hp = highest.Parameters.Add("$p", SqliteType.Text);
        await using var events = new SqliteCommand("""
            SELECT sequence_nr, timestamp, payload, manifest, serializer_id FROM event_journal
            WHERE persistence_id = $p AND sequence_nr >= $f AND sequence_nr <= $t AND is_deleted = 0
            ORDER BY sequence_nr LIMIT $n
            """, connection, tx);
        var ep = events.Parameters.Add("$p", SqliteType.Text);
        var ef = events.Parameters.Add("$f", SqliteType.Integer);
        var et = events.Parameters.Add("$t", SqliteType.Integer);
        var en = events.Parameters.Add("$n", SqliteType.Integer);
        // The snapshot table of Akka.Persistence.Sql's sqlite mapping (its plugin creates it when it starts).
        await using var snapshot = new SqliteCommand("""
            SELECT sequence_nr, created_at, payload, manifest, serializer_id FROM snapshot
            WHERE persistence_id = $p ORDER BY sequence_nr DESC LIMIT 1
            """, connection, tx);
        var sp = snapshot.Parameters.Add("$p", SqliteType.Text);
        var snapshots = true;
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            var from = request.FromSequenceNr;
            if (request.WithSnapshot && snapshots)
            {
                sp.Value = request.PersistenceId;
                try
                {
                    await using var reader = await snapshot.ExecuteReaderAsync(cancellationToken);
                    if (await reader.ReadAsync(cancellationToken))
                    {
                        var nr = reader.GetInt64(0);
                        rows.Snapshot(i, nr, reader.GetInt64(1), reader.IsDBNull(2) ? [] : (byte[])reader[2],
                            reader.IsDBNull(4) ? null : reader.GetInt32(4), reader.IsDBNull(3) ? null : reader.GetString(3));
                        from = Math.Max(from, nr + 1);
                    }
                }
                catch (SqliteException e) when (e.SqliteErrorCode == 1 && e.Message.Contains("no such table", StringComparison.Ordinal))
                {
                    snapshots = false; // no snapshot table yet: no snapshot was ever saved
                }
            }
            hp.Value = request.PersistenceId;
            var high = await highest.ExecuteScalarAsync(cancellationToken) is long h ? h : 0L;
            rows.Highest(i, high);
            var to = Math.Min(request.ToSequenceNr, high);
            if (to <= 0 || from > to || request.Max <= 0) continue;
            ep.Value = request.PersistenceId;
            ef.Value = from;
            et.Value = to;
            en.Value = request.Max;
            await using var eventsReader = await events.ExecuteReaderAsync(cancellationToken);
            while (await eventsReader.ReadAsync(cancellationToken))
            {
                rows.Event(i, eventsReader.GetInt64(0), eventsReader.GetInt64(1), (byte[])eventsReader[2], eventsReader.GetInt32(4),
                    eventsReader.IsDBNull(3) ? null : eventsReader.GetString(3));
            }
        }
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr,
        CancellationToken cancellationToken)
    {
        await WaitForWritesAsync(persistenceId);
        await EnsureSchema();
        await using var connection = await OpenAsync();
        await using var command = new SqliteCommand("SELECT max(sequence_nr) FROM event_journal WHERE persistence_id = $p", connection);
        command.Parameters.AddWithValue("$p", persistenceId);
        return await command.ExecuteScalarAsync(cancellationToken) is long highest ? highest : 0L;
    }

    /// <inheritdoc />
    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr,
        CancellationToken cancellationToken)
    {
        // Like Akka.Persistence.Sql: the highest row is kept (marked deleted) so the sequence number never goes back.
        await EnsureSchema();
        await using var connection = await OpenAsync();
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new SqliteCommand("""
            DELETE FROM tags WHERE ordering_id IN
              (SELECT ordering FROM event_journal WHERE persistence_id = $p AND sequence_nr <= $s);
            DELETE FROM event_journal WHERE persistence_id = $p AND sequence_nr <= $s
              AND sequence_nr < (SELECT max(sequence_nr) FROM event_journal WHERE persistence_id = $p);
            UPDATE event_journal SET is_deleted = 1 WHERE persistence_id = $p AND sequence_nr <= $s;
            """, connection, tx);
        command.Parameters.AddWithValue("$p", persistenceId);
        command.Parameters.AddWithValue("$s", toSequenceNr);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }
}
