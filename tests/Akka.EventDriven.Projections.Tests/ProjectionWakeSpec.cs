using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>
/// A projection waiting for its next poll reads at once when its own node's journal commits: a read model on the node
/// that writes follows within a round trip, not a polling interval. The poll interval here is far longer than the
/// deadline, so only the wake-up can meet it.
/// </summary>
public sealed class ProjectionWakeSpec
{
    public static TheoryData<string> Stores => ["sqlite", "postgresql"];

    private static async Task<TestStore> StoreAsync(string kind) =>
        kind == "sqlite" ? TestStore.NewSqlite() : await PrivateDatabase.CreateAsync();

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task An_event_committed_on_the_same_node_is_projected_long_before_the_next_poll(string kind)
    {
        var store = await StoreAsync(kind);
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w"));

        var seen = new ConcurrentDictionary<string, TimeSpan>();
        var clock = Stopwatch.StartNew();
        var poll = TimeSpan.FromSeconds(60);
        await using var exactlyOnce = Projection.ExactlyOnce(node.System, new ProjectionId($"wake-x-{run}"), (batch, _, _) =>
        {
            foreach (var e in batch) seen.TryAdd($"x:{e.PersistenceId}:{e.SequenceNr}", clock.Elapsed);
            return Task.CompletedTask;
        }, new ProjectionSettings(PollInterval: poll, StartFromEnd: true));
        await using var atLeastOnce = Projection.AtLeastOnce(node.System, new ProjectionId($"wake-a-{run}"), (e, _) =>
        {
            seen.TryAdd($"a:{e.PersistenceId}:{e.SequenceNr}", clock.Elapsed);
            return Task.CompletedTask;
        }, new ProjectionSettings(PollInterval: poll, StartFromEnd: true));
        await exactlyOnce.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await atLeastOnce.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        // Both are now idle in their poll wait (one step each found nothing after the end).
        for (var i = 1; i <= 3; i++)
        {
            var id = $"{run}-w{i}";
            await node.Ledger.SendAsync(id, new Open("o"));
            var key = $"Ledger-{id}:1";
            await TestWait.UntilAsync(() =>
            {
                Assert.True(seen.ContainsKey($"x:{key}"), $"the exactly-once projection has not handled {key} yet");
                Assert.True(seen.ContainsKey($"a:{key}"), $"the at-least-once projection has not handled {key} yet");
                return Task.CompletedTask;
            }, TimeSpan.FromSeconds(10));
        }
    }
}
