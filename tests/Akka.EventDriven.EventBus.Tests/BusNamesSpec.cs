using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>The per-name view of the bus (<see cref="MessageBus.GetTopicsAsync"/>, <see cref="MessageBus.GetQueuesAsync"/>):
/// counts and rates per topic, and a bounded number of names.</summary>
public sealed class BusNamesSpec
{
    [Fact]
    public async Task Topics_are_counted_per_name_with_rates_and_no_more_than_the_cap_of_names_is_kept()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        var run = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++) await bus.PublishAsync($"names.{run}.hot", new Threat(i, "t"));

        var hot = Assert.Single(await bus.GetTopicsAsync(), t => t.Name == $"names.{run}.hot");
        Assert.Equal(3, hot.Published);
        Assert.True(hot.PublishedPerSecond > 0);
        Assert.Empty(hot.LagByGroup);
        Assert.Null(hot.Depth);

        // A client inventing names: past the cap they are not tracked (nor listed), and tracked ones keep counting.
        for (var i = 0; i < MessageBus.MaxTrackedNames + 50; i++) await bus.PublishAsync($"names.{run}.n{i}", new Threat(i, "t"));
        await bus.PublishAsync($"names.{run}.hot", new Threat(9, "t"));
        var topics = await bus.GetTopicsAsync();
        Assert.True(topics.Count <= MessageBus.MaxTrackedNames, $"{topics.Count} names listed");
        Assert.Equal(4, Assert.Single(topics, t => t.Name == $"names.{run}.hot").Published);
        Assert.Equal(MessageBus.MaxTrackedNames + 54, bus.Metrics.MessagesPublished);
    }
}
