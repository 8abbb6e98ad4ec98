using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The database fails under a live node (the journal table disappears, then comes back): callers get a clear
/// failure, never a timeout or a false acknowledgement, and aggregates work again once the database does.
/// Runs on a private database of its own so that breaking it touches no other test.
/// </summary>
public sealed class StorageFailureSpec
{
    [Fact]
    public async Task Write_and_recovery_failures_are_answered_and_aggregates_recover_when_the_database_does()
    {
        var url = TestStore.PostgreSql().ConnectionString;
        var server = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url));
        var database = $"failure_{Guid.NewGuid():N}";
        await ExecAsync(server.ConnectionString, $"CREATE DATABASE {database}");
        var own = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = database, Pooling = false }.ConnectionString;

        await using (var node = await NodeHost.StartAsync(new TestStore(StoreProvider.PostgreSql, own)))
        {
            var live = $"live-{Guid.NewGuid():N}";
            var cold = $"cold-{Guid.NewGuid():N}";
            await node.Ledger.SendAsync(live, new Open("mia"));
            await node.Ledger.SendAsync(cold, new Open("noah"));
            await node.Ledger.SendAsync(cold, new Deposit(4m));

            await ExecAsync(own, "ALTER TABLE event_journal RENAME TO event_journal_away");
            // 20 commands at once: one write fails, the rest are queued behind it or in the entity's mailbox;
            // every caller must get a failure (none a timeout), and none of them may be stored.
            var sends = Enumerable.Range(0, 20).Select(_ => node.Ledger.SendAsync(live, new Deposit(1m))).ToArray();
            foreach (var send in sends)
            {
                var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => send);
                Assert.Matches("Storing the events|restarted|Recovery", failure.Message);
            }
            var fresh = $"fresh-{Guid.NewGuid():N}";
            var recovery = await Assert.ThrowsAsync<AggregateFailedException>(() => node.Ledger.SendAsync(fresh, new Open("olivia")));
            Assert.Contains("Recovery", recovery.Message);

            await ExecAsync(own, "ALTER TABLE event_journal_away RENAME TO event_journal");
            var after = await node.Ledger.SendAsync(live, new Deposit(2m));
            Assert.Equal(2, Assert.IsType<CommandAccepted>(after).Version);            // the failed deposit left nothing
            Assert.Equal(1, (await node.Ledger.SendAsync(fresh, new Open("olivia"))).Version); // not stuck in failure
            Assert.Equal(new LedgerState("noah", 4m, 2), (await node.Ledger.GetStateAsync(cold)).State);
            Assert.Equal(2m, (await node.Ledger.GetStateAsync(live)).State.Balance);
        }
        NpgsqlConnection.ClearAllPools();
        await ExecAsync(server.ConnectionString, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    }

    /// <summary>A recovery read that times out once (a blip: here a lock held past the command timeout) is tried again
    /// while the command waits, instead of failing a command for which nothing was stored.</summary>
    [Fact]
    public async Task A_recovery_that_times_out_once_is_retried_and_the_waiting_command_succeeds()
    {
        var db = await PrivateDatabase.CreateAsync();
        var own = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, db.ConnectionString))
        { CommandTimeout = 1 }.ConnectionString;
        await using var node = await NodeHost.StartAsync(new TestStore(StoreProvider.PostgreSql, own));
        await node.Ledger.SendAsync($"warm-{Guid.NewGuid():N}", new Open("w")); // the journal tables exist

        await using var locker = new NpgsqlConnection(own);
        await locker.OpenAsync();
        var lockTx = await locker.BeginTransactionAsync();
        await using (var lockCommand = new NpgsqlCommand("LOCK TABLE event_journal IN ACCESS EXCLUSIVE MODE", locker, lockTx))
            await lockCommand.ExecuteNonQueryAsync();

        var id = $"blip-{Guid.NewGuid():N}";
        var send = node.Ledger.SendAsync(id, new Open("ava"));
        // The recovery's read waits for the lock, then its 1 s command timeout ends it: the first attempt failed.
        await TestWait.UntilAsync(async () => Assert.True(await LockWaitersAsync(own) > 0, "no recovery read waits for the lock yet"), TimeSpan.FromSeconds(30));
        await TestWait.UntilAsync(async () => Assert.True(await LockWaitersAsync(own) == 0, "the blocked read has not timed out yet"), TimeSpan.FromSeconds(30));
        Assert.False(send.IsCompleted && send.IsFaulted, $"the command failed on the first recovery failure: {(send.IsFaulted ? send.Exception!.GetBaseException().Message : "")}");
        await lockTx.RollbackAsync();

        Assert.Equal(1, Assert.IsType<CommandAccepted>(await send).Version);
        Assert.Equal("ava", (await node.Ledger.GetStateAsync(id)).State.Owner);
    }

    private static async Task<long> LockWaitersAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'event_journal'::regclass", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
