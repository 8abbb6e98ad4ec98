using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Xunit.Abstractions;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>Repeats of rejected commands, and of commands stored before a snapshot the aggregate recovers from.</summary>
public sealed class IdempotentCommandEdgesSpec
{
    [Fact]
    public async Task A_repeat_of_a_rejected_command_gets_the_rejection_even_once_it_would_be_accepted()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = $"idem-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("kim"));
        var key = new CommandOptions { CommandId = "withdraw-1" };
        Assert.IsType<CommandRejected>(await node.Ledger.SendAsync(id, new Withdraw(5m), key));
        await node.Ledger.SendAsync(id, new Deposit(10m));
        var repeat = Assert.IsType<CommandRejected>(await node.Ledger.SendAsync(id, new Withdraw(5m), key));
        Assert.Contains("Insufficient funds", repeat.Reason);
        Assert.Equal(10m, (await node.Ledger.GetStateAsync(id)).State.Balance);
    }

    [Fact]
    public async Task A_command_stored_before_the_snapshot_an_aggregate_recovers_from_is_still_known_as_stored()
    {
        var store = TestStore.NewSqlite();
        var id = $"idem-{Guid.NewGuid():N}";
        var key = new CommandOptions { CommandId = "deposit-before-snapshot" };
        long version;
        await using (var node = await NodeHost.StartAsync(store, aggregate: a => a.SnapshotEvery = 2))
        {
            await node.Ledger.SendAsync(id, new Open("kim"));
            version = Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, new Deposit(3m), key)).Version;
            for (var i = 0; i < 4; i++) await node.Ledger.SendAsync(id, new Deposit(1m)); // snapshots at 2, 4 and 6
        }
        await using var recovered = await NodeHost.StartAsync(store, aggregate: a => a.SnapshotEvery = 2);
        var state = await recovered.Ledger.GetStateAsync(id);
        Assert.True(state.Recovery!.SnapshotSequenceNr >= 4, $"recovered from {state.Recovery.SnapshotSequenceNr}"); // from a snapshot past the deposit (version 2)
        var repeat = Assert.IsType<CommandAccepted>(await recovered.Ledger.SendAsync(id, new Deposit(3m), key));
        Assert.Equal(version, repeat.Version);
        Assert.Equal(new Deposited(3m), repeat.Events.Single());
        Assert.Equal(7m, (await recovered.Ledger.GetStateAsync(id)).State.Balance);
    }
}
