namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// Two separate clusters wrongly writing the same aggregate (a split brain) on one PostgreSQL: the journal's unique
/// (persistence_id, sequence_nr) stops the second writer, only that writer's command fails, the commands of other
/// aggregates that shared its write batch are stored, and the entity recovers the winner's events.
/// </summary>
public sealed class ConcurrentWriterSpec
{
    [Fact]
    public async Task A_conflicting_writer_fails_only_its_own_command_and_then_recovers_the_stored_events()
    {
        var store = TestStore.PostgreSql();
        await using var a = await NodeHost.StartAsync(store, systemName: "clustera");
        await using var b = await NodeHost.StartAsync(store, systemName: "clusterb");
        var id = $"contested-{Guid.NewGuid():N}";

        Assert.Equal(0, (await b.Ledger.GetStateAsync(id)).Version); // b's entity is live at version 0
        Assert.Equal(1, (await a.Ledger.SendAsync(id, new Open("from-a"))).Version);

        var others = Enumerable.Range(0, 20).Select(_ => $"bystander-{Guid.NewGuid():N}").ToArray();
        var conflicting = b.Ledger.SendAsync(id, new Open("from-b"));
        var bystanders = others.Select(o => b.Ledger.SendAsync(o, new Open("bystander"))).ToArray();

        var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => conflicting);
        Assert.Contains("duplicate key", failure.Message);
        Assert.All(await Task.WhenAll(bystanders), r => Assert.Equal(1, Assert.IsType<CommandAccepted>(r).Version));

        // b's entity restarted after the failure and now sees a's event.
        var state = await b.Ledger.GetStateAsync(id);
        Assert.Equal(1, state.Version);
        Assert.Equal("from-a", state.State.Owner);
        Assert.Equal(2, (await b.Ledger.SendAsync(id, new Deposit(1m))).Version);
        Assert.Equal(["from-a"], (await a.Ledger.GetHistoryAsync(id)).Select(e => ((Opened)e.Event).Owner).Take(1));
    }
}
