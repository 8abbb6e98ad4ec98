using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// A journal row inserted by the test in a transaction it keeps open (PostgreSQL). It takes an ordering that stays a
/// hole until the test decides, and a journal write of the same (persistence id, sequence number) waits on the
/// unique index for that decision: rolled back, the waiting write goes on and commits; so the test holds a real
/// journal write open for as long as it likes, deterministically.
/// </summary>
public sealed class HeldJournalRow : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlConnection _connection;
    private NpgsqlTransaction? _transaction;

    private HeldJournalRow(string connectionString, NpgsqlConnection connection, NpgsqlTransaction transaction, long ordering, string xid)
    {
        _connectionString = connectionString;
        _connection = connection;
        _transaction = transaction;
        Ordering = ordering;
        TransactionId = xid;
    }

    /// <summary>The ordering the held row took.</summary>
    public long Ordering { get; }

    /// <summary>The held transaction's id (as pg_locks shows it).</summary>
    public string TransactionId { get; }

    /// <summary>Inserts the row and keeps its transaction open; the journal tables must exist (a node has written).</summary>
    /// <remarks>Only on a database of the test's own (<see cref="PrivateDatabase"/>): the held row is a hole that every
    /// journal follower of its database must wait for (rightly: it is a write in flight), so on the suite's shared
    /// database it would stall the projections of specs running beside this one.</remarks>
    public static async Task<HeldJournalRow> BeginAsync(TestStore store, string persistenceId, long sequenceNr)
    {
        var builder = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, store.ConnectionString))
        { Pooling = false };
        var shared = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, TestStore.PostgreSql().ConnectionString));
        if (builder.Database == shared.Database)
            throw new InvalidOperationException("A held journal row needs a database of the test's own (PrivateDatabase.CreateAsync()), not the suite's shared one.");
        var cs = builder.ConnectionString;
        var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO event_journal (created_at, is_deleted, persistence_id, sequence_nr, payload, manifest, serializer_id)
            VALUES (0, false, $1, $2, '\x00'::bytea, '', 1) RETURNING ordering, pg_current_xact_id()::xid::text
            """, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequenceNr });
        await using var reader = await insert.ExecuteReaderAsync();
        await reader.ReadAsync();
        var ordering = reader.GetInt64(0);
        var xid = reader.GetString(1);
        await reader.DisposeAsync();
        return new HeldJournalRow(cs, connection, transaction, ordering, xid);
    }

    /// <summary>Completes once another session waits for this transaction (a journal write blocked behind it).</summary>
    public Task WaitUntilWaitedOnAsync() => TestWait.UntilAsync(async () =>
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = TransactionId });
        Assert.True((long)(await command.ExecuteScalarAsync())! > 0, "no journal write waits for the held row yet");
    }, TimeSpan.FromSeconds(60)); // a deadline, not a wait: on a loaded machine the node's first write can take a while

    /// <summary>Rolls the held row back: the write waiting behind it goes on.</summary>
    public async Task RollbackAsync()
    {
        if (_transaction is null) return;
        await _transaction.RollbackAsync();
        await _transaction.DisposeAsync();
        _transaction = null;
    }

    public async ValueTask DisposeAsync()
    {
        await RollbackAsync();
        await _connection.DisposeAsync();
    }
}
