using System.Data.Common;

namespace Akka.EventDriven.Storage;

/// <summary>
/// Reads the event journal (the tables of Akka.Persistence.Sql's postgresql and sqlite mappings) in ordering order and
/// never skips an event that commits late. Concurrent writers take orderings in one order and may commit in another,
/// so a hole in the orderings read so far may still fill; the reader stops before such a hole until it fills or is
/// known to be final (a rolled-back write, a deleted event).
/// On PostgreSQL "final" comes from the database's own knowledge of in-flight transactions, never from a clock: every
/// insert into <c>event_journal</c> gets its transaction id before it takes an ordering (a statement trigger, see
/// <see cref="PostgreSqlJournal"/>), so a transaction that holds a hole has an id assigned before the hole was first
/// seen. Right after that first sight the reader takes a transaction id newly assigned (<c>pg_current_xact_id()</c> in a
/// transaction that had none: never an id its caller's transaction took before the read), which is above every id
/// assigned before; once a later snapshot's <c>xmin</c> is above that id, every transaction that could hold the hole
/// has ended, and a hole still there is final however long a commit took.
/// (A snapshot's <c>xmax</c> is not such a bound: it is one past the highest <em>completed</em> id, and a writer that
/// took its id after the last one to complete, and still runs, is at or above it.) <c>xmin</c> is the whole server's,
/// though: one long transaction anywhere (another database, a batch job, a test holding a row) keeps it low. So when xmin
/// does not settle a hole, and only then (off the common path), the reader names the writers that could hold the hole: the transactions that hold a
/// write lock on this database's <c>event_journal</c> (a writer takes that lock before its ordering and keeps it, and
/// its transaction-id lock, until it has ended). Once none of them holds its id lock any more, a later read sees the
/// hole filled or it is final, whatever else runs on the server. On SQLite (one writer, commits in ordering order) a
/// hole is final once it is older than the gap timeout or the row after it was written longer ago than that.
/// </summary>
public sealed class JournalReader(StoreSettings store, JournalReadOptions? options = null)
{
    private readonly JournalReadOptions _options = options ?? new JournalReadOptions();
    private readonly Dictionary<long, DateTime> _holesSeen = new();
    // PostgreSQL: per hole, a transaction id taken right after it was first seen (every writer that could hold it has
    // a lower one), and the ordering of the row behind it then (the bound covers only transactions that took orderings
    // below that row).
    private readonly Dictionary<long, HoleBound> _holeBounds = new();
    // Holes seen for the first time in the current read, waiting for their bound (taken once the rows are read).
    private readonly List<(long Hole, long Below)> _unbounded = new();
    // The hole this read stopped at whose bound's xmin test failed: its writers are looked up once the rows are read.
    private HoleBound? _waitingOn;

    /// <summary>PostgreSQL: what is known of the transactions that could hold a hole.</summary>
    private sealed class HoleBound(long after, long below)
    {
        /// <summary>A transaction id taken after the hole was seen: every writer that could hold it has a lower one.</summary>
        public long After { get; } = after;
        /// <summary>The ordering of the row behind the hole then (the bound covers orderings below it only).</summary>
        public long Below { get; } = below;
        /// <summary>Transaction ids (32-bit, as pg_locks shows them) of the journal's writers when first looked up (only
        /// once the xmin test failed); null until then, or for good when they could not be told (a prepared transaction).</summary>
        public string[]? Writers { get; set; }
        public bool WritersUnknown { get; set; }
        /// <summary>Set once none of <see cref="Writers"/> runs: a read after that sees the hole filled, or it is final.</summary>
        public bool WritersEnded { get; set; }
    }

    // The granted write locks on this database's event_journal (an INSERT takes RowExclusiveLock).
    private const string JournalWriteLocks = """
        r.locktype = 'relation' AND r.granted
          AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND r.relation = 'event_journal'::regclass
          AND r.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
        """;
    private long _highestSkipped;
    private readonly string _createdColumn = store.Provider == StoreProvider.PostgreSql ? "created_at" : "timestamp";

    // "Now" on the clock the journal's created_at comes from: the database's for PostgreSQL (see PostgreSqlJournal),
    // the local one for SQLite (one process writes).
    private readonly string _nowTicks = store.Provider == StoreProvider.PostgreSql
        ? "(extract(epoch FROM statement_timestamp()) * 10000000)::bigint + 621355968000000000"
        : "@now";

    // The statement's own snapshot's xmin (every transaction below it has ended), taken once per statement rather than
    // per row.
    private readonly string _snapshot = store.Provider == StoreProvider.PostgreSql
        ? "CROSS JOIN (SELECT pg_snapshot_xmin(s)::text::bigint AS xmin FROM pg_current_snapshot() s) snap"
        : "CROSS JOIN (SELECT 0 AS xmin) snap";

    /// <summary>Called with the first and last ordering of a hole given up on (once per hole).</summary>
    public Action<long, long>? HoleSkipped { get; set; }

    /// <summary>Holes given up on so far.</summary>
    public long SkippedHoles { get; private set; }

    /// <summary>The first ordering of the last hole given up on, if any.</summary>
    public long? LastSkippedHole { get; private set; }

    /// <summary>The database the reader reads.</summary>
    public StoreProvider Provider => store.Provider;

    private bool Tagged => _options.Tag is not null;

    /// <summary>Opens a connection to the store (the caller disposes it).</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <summary>The rows after <paramref name="offset"/> that are safe to hand out, at most <paramref name="limit"/>
    /// read, and the offset after them (which may pass rows filtered out by tag or marked deleted). In
    /// <paramref name="transaction"/> when given, so that a caller's writes and its offset commit with what it read.</summary>
    public async Task<JournalBatch> ReadAsync(
        DbConnection connection, DbTransaction? transaction, long offset, int limit, CancellationToken ct)
    {
        var tagFilter = _options.Tag is null
            ? "NULL"
            : "EXISTS (SELECT 1 FROM tags t WHERE t.ordering_id = j.ordering AND t.tag = @tag)";
        var tags = !_options.IncludeTags
            ? "NULL"
            : store.Provider == StoreProvider.PostgreSql
                ? "(SELECT string_agg(t.tag, chr(31)) FROM tags t WHERE t.ordering_id = j.ordering)"
                : "(SELECT group_concat(t.tag, char(31)) FROM tags t WHERE t.ordering_id = j.ordering)";
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT j.ordering, j.persistence_id, j.sequence_nr, j.payload, j.manifest, j.serializer_id,
                   j.{_createdColumn}, j.is_deleted, {tagFilter}, {_nowTicks}, {tags}, snap.xmin
            FROM event_journal j {_snapshot} WHERE j.ordering > @offset ORDER BY j.ordering LIMIT @limit
            """;
        command.AddParameter("offset", offset);
        command.AddParameter("limit", (long)limit);
        if (store.Provider != StoreProvider.PostgreSql) command.AddParameter("now", DateTime.UtcNow.Ticks);
        if (_options.Tag is not null) command.AddParameter("tag", _options.Tag);

        var rowsOut = new List<JournalRow>();
        var next = offset;
        var rows = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows++;
            var ordering = reader.GetInt64(0);
            var now = new DateTime(reader.GetInt64(9), DateTimeKind.Utc);
            if (ordering != next + 1)
            {
                var final = store.Provider == StoreProvider.PostgreSql
                    ? HoleIsFinal(next + 1, ordering, reader.GetInt64(11))
                    : HoleIsFinal(next + 1, new DateTime(reader.GetInt64(6), DateTimeKind.Utc), now);
                if (!final) break;
                Skipped(next + 1, ordering - 1);
            }
            _holesSeen.Remove(next + 1);
            _holeBounds.Remove(next + 1);
            next = ordering;
            if (reader.GetBoolean(7) || (Tagged && !reader.GetBoolean(8))) continue;
            rowsOut.Add(new JournalRow(ordering, reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<byte[]>(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4), reader.GetInt32(5), new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
                reader.IsDBNull(10) ? [] : reader.GetString(10).Split('\u001f')));
        }
        await reader.DisposeAsync();
        if (_unbounded.Count > 0) await BoundNewHolesAsync(connection, transaction, ct);
        if (_waitingOn is { } waiting)
        {
            _waitingOn = null;
            await CheckWritersEndedAsync(connection, transaction, waiting, ct);
        }
        return new JournalBatch(rowsOut, next, rows);
    }

    // Takes one transaction id for the holes first seen in this read, assigned after the read's snapshot: so it is above
    // the id of every transaction that held an ordering then. A transaction that has no id yet (a read outside one, or a
    // caller's transaction that has written nothing) is given one here; it commits at once outside a transaction, and
    // a projection's own transaction writes its offset anyway. A transaction that already has an id (it locked or wrote
    // a row before this read, as an exactly-once step did when it locked its offset row before reading) must not lend it: that id is older than a
    // writer that took its id and its ordering between then and the read, and once it has committed a later xmin would
    // call that writer's hole final while it still runs. Then the id comes from a statement of its own, on a
    // connection of its own.
    private async Task BoundNewHolesAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct)
    {
        const string fresh = "SELECT CASE WHEN pg_current_xact_id_if_assigned() IS NULL THEN pg_current_xact_id()::text::bigint END";
        long after;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = fresh;
            var value = await command.ExecuteScalarAsync(ct);
            if (value is not null and not DBNull) after = Convert.ToInt64(value);
            else
            {
                await using var own = await OpenAsync(ct);
                await using var separate = own.CreateCommand();
                separate.CommandText = fresh;
                after = Convert.ToInt64(await separate.ExecuteScalarAsync(ct));
            }
        }
        foreach (var (hole, below) in _unbounded) _holeBounds[hole] = new HoleBound(after, below);
        _unbounded.Clear();
    }

    // Only when xmin did not settle the hole (a long transaction somewhere on the server): the first time, names the
    // writers that could hold it, the sessions holding a write lock on this journal now (the holder took that lock
    // before its ordering and keeps it, with its transaction-id lock, until it ends; one that ended already is seen by
    // any later read); afterwards, looks up whether any of them still holds its id lock. A lock held by no session (a
    // prepared transaction) cannot be tied to an id: then xmin alone decides. A transaction gives up its locks only
    // after it has ended for every snapshot taken since, so once none runs a later read sees what it committed.
    private static async Task CheckWritersEndedAsync(DbConnection connection, DbTransaction? transaction, HoleBound bound, CancellationToken ct)
    {
        if (bound.WritersUnknown || bound.WritersEnded) return;
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        if (bound.Writers is null)
        {
            command.CommandText = $$"""
                SELECT EXISTS (SELECT 1 FROM pg_locks r WHERE {{JournalWriteLocks}} AND r.pid IS NULL),
                       (SELECT string_agg(DISTINCT x.transactionid::text, ',')
                        FROM pg_locks r JOIN pg_locks x ON x.pid = r.pid AND x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock' AND x.granted
                        WHERE {{JournalWriteLocks}} AND r.pid <> pg_backend_pid())
                """;
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            bound.WritersUnknown = reader.GetBoolean(0);
            bound.Writers = reader.IsDBNull(1) ? [] : reader.GetString(1).Split(',');
            bound.WritersEnded = !bound.WritersUnknown && bound.Writers.Length == 0;
            return;
        }
        command.CommandText = """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted
                           AND transactionid::text = ANY(@writers))
            """;
        command.AddParameter("writers", bound.Writers);
        bound.WritersEnded = !(bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Creates the journal tables if no node has yet (the same DDL as the journals use), so that a
    /// projection can start before the first event is written.</summary>
    public Task EnsureJournalTablesAsync(CancellationToken ct) => Schema.EnsureAsync(store, SchemaPart.Journal, ct);

    /// <summary>True when rows after <paramref name="offset"/> exist (a cheap check before taking locks).</summary>
    public async Task<bool> AnyAfterAsync(DbConnection connection, long offset, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM event_journal WHERE ordering > @offset LIMIT 1";
        command.AddParameter("offset", offset);
        return await command.ExecuteScalarAsync(ct) is not null and not DBNull;
    }

    /// <summary>The highest ordering in the journal now.</summary>
    public async Task<long> MaxOrderingAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT max(ordering) FROM event_journal";
        return await command.ExecuteScalarAsync(ct) is { } v and not DBNull ? Convert.ToInt64(v) : 0L;
    }

    /// <summary>The highest ordering, how many rows are after <paramref name="offset"/>, and when the oldest of them was written.</summary>
    public async Task<(long Max, long Behind, DateTime? OldestUnprocessed)> LagAsync(long offset, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), min({_createdColumn}), (SELECT max(ordering) FROM event_journal) FROM event_journal WHERE ordering > @offset";
        command.AddParameter("offset", offset);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var behind = reader.GetInt64(0);
        DateTime? oldest = reader.IsDBNull(1) ? null : new DateTime(reader.GetInt64(1), DateTimeKind.Utc);
        var max = reader.IsDBNull(2) ? 0L : reader.GetInt64(2);
        return (max, behind, oldest);
    }

    private bool HoleIsFinal(long hole, long rowAfter, long xmin)
    {
        // Every transaction below the snapshot's xmin has ended; the bound's own id is one of them once xmin passes it.
        if (_holeBounds.TryGetValue(hole, out var bound) && rowAfter <= bound.Below)
        {
            if (xmin > bound.After || bound.WritersEnded) return true;
            _waitingOn = bound;
            return false;
        }
        // First sight (or a row behind the hole was deleted and the hole grew): bound it once the rows are read.
        _holeBounds.Remove(hole);
        _unbounded.Add((hole, rowAfter));
        return false;
    }

    private void Skipped(long first, long last)
    {
        // A step that is rolled back reads the same hole again: count each hole once.
        if (first <= _highestSkipped) return;
        _highestSkipped = last;
        SkippedHoles++;
        LastSkippedHole = first;
        HoleSkipped?.Invoke(first, last);
    }

    private bool HoleIsFinal(long hole, DateTime rowAfterWrittenAt, DateTime now)
    {
        if (now - rowAfterWrittenAt > _options.Gap) return true;
        if (!_holesSeen.TryGetValue(hole, out var seen)) _holesSeen[hole] = seen = now;
        return now - seen > _options.Gap;
    }
}
