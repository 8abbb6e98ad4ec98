using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Xunit.Abstractions;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>When a node joins, the sharding coordinator moves aggregates to it, and sharding drops the messages that
/// reach a region while the aggregate's shard is being handed off. A command sent at that moment must still get its
/// answer (the repository resends it) and take effect once (the aggregate knows the command id it already stored).</summary>
public sealed class RebalanceSpec(ITestOutputHelper output)
{
    private const int Ledgers = 48;

    [Fact]
    public async Task Commands_under_load_while_aggregates_move_to_a_joining_node_all_succeed_and_each_takes_effect_once()
    {
        var store = TestStore.PostgreSql();
        var seedPort = TestWait.FreePort();
        var hocon = $"akka.cluster.seed-nodes = [\"akka.tcp://edmove@127.0.0.1:{seedPort}\"]\n" +
                    "akka.cluster.sharding.rebalance-interval = 500ms\n";
        await using var first = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = {seedPort}\n{hocon}", systemName: "edmove");
        var ids = Enumerable.Range(0, Ledgers).Select(i => $"moving-{i}-{Guid.NewGuid():N}").ToArray();
        foreach (var id in ids) Assert.IsType<CommandAccepted>(await first.Ledger.SendAsync(id, new Open("kim")));

        // 16 callers send deposits of 1 to random ledgers on the first node until the aggregates have moved.
        using var stop = new CancellationTokenSource();
        var accepted = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var sent = 0;
        var load = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                var id = ids[random.Next(ids.Length)];
                Interlocked.Increment(ref sent);
                try
                {
                    Assert.IsType<CommandAccepted>(await first.Ledger.SendAsync(id, new Deposit(1m)));
                    accepted.AddOrUpdate(id, 1, (_, n) => n + 1);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Enqueue($"{e.GetType().Name}: {e.Message}");
                }
            }
        })).ToArray();
        await TestWait.UntilAsync(() => { Assert.True(accepted.Values.Sum() > 500); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));

        await using var second = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{hocon}", systemName: "edmove");
        await TestWait.UntilAsync(() =>
        {
            Assert.Equal(2, Cluster.Cluster.Get(first.System).State.Members.Count(m => m.Status == MemberStatus.Up));
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(30));
        // The coordinator moves shards one rebalance round at a time: wait until the new node hosts a fair share.
        await TestWait.UntilAsync(async () =>
        {
            var state = await second.Ledger.Region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            var moved = state.Shards.Sum(s => s.EntityIds.Count(id => ids.Contains(id)));
            Assert.True(moved >= Ledgers / 4, $"{moved} of {Ledgers} ledgers on the joining node");
        }, TimeSpan.FromSeconds(60));
        var before = accepted.Values.Sum();
        await TestWait.UntilAsync(() => { Assert.True(accepted.Values.Sum() > before + 500); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        output.WriteLine($"{sent} commands sent, {accepted.Values.Sum()} accepted, {failures.Count} failed during the rebalance");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {sent} commands failed during the rebalance; first: {failures.FirstOrDefault()}");
        foreach (var id in ids)
        {
            var state = await second.Ledger.GetStateAsync(id);
            Assert.Equal(accepted.GetValueOrDefault(id), (int)state.State.Balance); // each accepted deposit counted once, none twice
        }
    }
}

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
