#region usings
using Akka.EventDriven.Projections;
#endregion
using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing.Tests;
using Microsoft.Data.Sqlite;

namespace Akka.EventDriven.Projections.Tests.Readme;

/// <summary>The README's projection example (regions checked against the README by ReadmeSnippetsSpec), run on one
/// SQLite node with the Ledger test aggregate: the exactly-once read model counts each ledger's events once, and the
/// at-least-once and grouped projections see every event.</summary>
public sealed class ReadmeSnippets
{
    [Fact]
    public async Task The_three_delivery_modes_of_the_readme_see_every_event()
    {
        var store = TestStore.NewSqlite();
        await using var node = await NodeHost.StartAsync(store);
        var system = node.System;
        await using (var connection = new SqliteConnection(store.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = "CREATE TABLE balances (persistence_id text PRIMARY KEY, events bigint NOT NULL)";
            await create.ExecuteNonQueryAsync();
        }
        await node.Ledger.SendAsync("acc-1", new Open("ann"));
        await node.Ledger.SendAsync("acc-1", new Deposit(5m));
        await node.Ledger.SendAsync("acc-2", new Open("bob"));

        #region projection-exactly-once
        // Exactly once: the handler writes through the transaction it is given; its writes and the offset commit together.
        await using var projection = Projection.ExactlyOnce(system, new ProjectionId("ledger-balances"),
            async (batch, tx, ct) =>
            {
                foreach (var e in batch)
                {
                    await using var upsert = tx.Connection!.CreateCommand();
                    upsert.Transaction = tx;
                    upsert.CommandText = """
                        INSERT INTO balances (persistence_id, events) VALUES (@id, 1)
                        ON CONFLICT (persistence_id) DO UPDATE SET events = balances.events + 1
                        """;
                    var id = upsert.CreateParameter();
                    (id.ParameterName, id.Value) = ("id", e.PersistenceId);
                    upsert.Parameters.Add(id);
                    await upsert.ExecuteNonQueryAsync(ct);
                }
            },
            new ProjectionSettings(Tag: "Ledger", Recovery: RecoveryStrategy.RetryThenDeadLetter(3)));
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        #endregion

        var seen = new ConcurrentQueue<string>();
        var grouped = new ConcurrentQueue<int>();

        #region projection-other-modes
        await using var audit = Projection.AtLeastOnce(system, new ProjectionId("ledger-audit"),
            (envelope, ct) => { seen.Enqueue(envelope.PersistenceId); return Task.CompletedTask; });   // offset stored after every batch
        await using var groups = Projection.Grouped(system, new ProjectionId("ledger-groups"),
            (group, ct) => { grouped.Enqueue(group.Count); return Task.CompletedTask; },
            new ProjectionSettings(BatchSize: 100, GroupWithin: TimeSpan.FromMilliseconds(200)));
        #endregion

        await using (var connection = new SqliteConnection(store.ConnectionString))
        {
            await connection.OpenAsync();
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT persistence_id, events FROM balances ORDER BY persistence_id";
            await using var rows = await read.ExecuteReaderAsync();
            var model = new List<(string, long)>();
            while (await rows.ReadAsync()) model.Add((rows.GetString(0), rows.GetInt64(1)));
            Assert.Equal([("Ledger-acc-1", 2L), ("Ledger-acc-2", 1L)], model);
        }
        await audit.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await groups.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["Ledger-acc-1", "Ledger-acc-1", "Ledger-acc-2"], seen.Order());
        Assert.Equal(3, grouped.Sum());
    }
}
