using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>The store's first trip is taken at node start (before the aggregates start), bounded in time: a node whose
/// database is unreachable still starts after the warm-up timeout, and its commands then fail with the reason.</summary>
public sealed class StoreWarmUpSpec
{
    [Fact]
    public async Task A_reachable_store_answers_the_warm_up_recovery()
    {
        await using var node = await NodeHost.StartAsync(TestStore.Best());
        Assert.True(await StoreWarmUp.RunAsync(node.System, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_node_whose_database_is_unreachable_starts_after_the_warm_up_timeout_and_its_commands_fail_with_the_reason()
    {
        // A PostgreSQL URL on a port nothing listens on: every connection is refused.
        var store = new TestStore(StoreProvider.PostgreSql, $"postgresql://postgres@127.0.0.1:{TestWait.FreePort()}/nowhere");
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var node = await NodeHost.StartAsync(store, extraHocon: "akka.event-driven.persistence.warm-up-timeout = 2s");
        // The warm-up retries with backoff (100, 250, 500 ms, then 1 s) and gives up rather than start a wait it cannot
        // finish inside the timeout: about 1.85 s here on a quiet machine, earlier when each refused attempt is slow (a
        // loaded machine: 1.47 s in loaded run 14), but never before its first two waits (350 ms), which always fit.
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(350), $"the node started after {started.Elapsed}: the warm-up did not wait");

        Assert.False(await StoreWarmUp.RunAsync(node.System, TimeSpan.FromSeconds(1)));
        var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => node.Ledger.SendAsync("w-1", new Open("x")));
        Assert.Contains("refused", failure.Message, StringComparison.OrdinalIgnoreCase);
    }
}
