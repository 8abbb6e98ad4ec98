using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Xunit.Abstractions;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>CommandOptions.CommandId: a repeat of a stored command gets the first result and no second effect, from the
/// same entity and from one recovered from storage on another node.</summary>
public sealed class IdempotentCommandSpec
{
    [Fact]
    public async Task A_command_sent_again_with_its_id_is_answered_with_the_first_result_and_stored_once_also_after_recovery()
    {
        var store = TestStore.NewSqlite();
        var id = $"idem-{Guid.NewGuid():N}";
        var key = new CommandOptions { CommandId = "deposit-0001" };
        long first;
        await using (var node = await NodeHost.StartAsync(store))
        {
            Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, new Open("kim")));
            var accepted = Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, new Deposit(5m), key));
            first = accepted.Version;
            // At once and many at a time: the repeats wait for nothing new and all get the first result.
            var repeats = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => node.Ledger.SendAsync(id, new Deposit(5m), key)));
            Assert.All(repeats, r => Assert.Equal((first, 1), (r.Version, Assert.IsType<CommandAccepted>(r).Events.Count)));
            Assert.Equal(new Deposited(5m), ((CommandAccepted)repeats[0]).Events[0]);
            // Sent together before the first is stored: one is decided, the others wait for its result.
            var burstKey = new CommandOptions { CommandId = "deposit-0002" };
            var burst = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => node.Ledger.SendAsync(id, new Deposit(7m), burstKey)));
            Assert.Single(burst.Select(r => r.Version).Distinct());
            Assert.Equal(12m, (await node.Ledger.GetStateAsync(id)).State.Balance);
        }

        // A new node recovers the aggregate from storage: the ids are in the events' metadata.
        await using var recovered = await NodeHost.StartAsync(store);
        var again = Assert.IsType<CommandAccepted>(await recovered.Ledger.SendAsync(id, new Deposit(5m), key));
        Assert.Equal(first, again.Version);
        Assert.Equal(new Deposited(5m), again.Events.Single());
        var fresh = Assert.IsType<CommandAccepted>(await recovered.Ledger.SendAsync(id, new Deposit(1m), new CommandOptions { CommandId = "deposit-0003" }));
        Assert.Equal(first + 2, fresh.Version);
        Assert.Equal(13m, (await recovered.Ledger.GetStateAsync(id)).State.Balance);
        var history = await recovered.Ledger.GetHistoryAsync(id);
        Assert.Equal(["deposit-0001", "deposit-0002", "deposit-0003"], history.Skip(1).Select(h => h.Metadata.CommandId));
    }

    [Fact]
    public async Task A_bad_command_id_is_refused_before_it_is_sent()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        await Assert.ThrowsAsync<ArgumentException>(() => node.Ledger.SendAsync("x", new Open("kim"), new CommandOptions { CommandId = "" }));
        await Assert.ThrowsAsync<ArgumentException>(() => node.Ledger.SendAsync("x", new Open("kim"), new CommandOptions { CommandId = "a\0b" }));
    }
}
