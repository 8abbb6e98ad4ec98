using Akka.Configuration;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Cqrs.Tests;

/// <summary><c>WithCqrs</c>: handlers registered at start-up on the node's buses, settings from the options.</summary>
public sealed class CqrsHostingSpec
{
    private sealed record BalanceOf(string Id) : IQuery<decimal>;

    [Fact]
    public async Task Handlers_registered_with_WithCqrs_serve_commands_and_cached_queries_on_the_node()
    {
        var id = $"hosted-{Guid.NewGuid():N}";
        var computed = 0;
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite(), configure: b => b.WithCqrs(c =>
        {
            c.QueryCacheCapacity = 3;
            c.Commands((bus, system) => bus
                .RegisterAggregate<Open, LedgerState>(Aggregates.Get(system).Repository(Ledger.Definition), _ => id)
                .RegisterAggregate<Deposit, LedgerState>(Aggregates.Get(system).Repository(Ledger.Definition), _ => id));
            c.Queries((bus, system) => bus.Register<BalanceOf, decimal>(async (q, _) =>
            {
                Interlocked.Increment(ref computed);
                return (await Aggregates.Get(system).Repository(Ledger.Definition).GetStateAsync(q.Id)).State.Balance;
            }, new QueryCacheOptions<BalanceOf>(TimeSpan.FromMinutes(5), q => [PersistenceIds.For(Ledger.Definition.Name, q.Id)])));
        }));
        var cqrs = CqrsExtension.Get(node.System);
        Assert.Equal((3, true), (cqrs.Settings.QueryCacheCapacity, cqrs.Settings.InvalidateFromJournal));

        Assert.True((await cqrs.Commands.ExecuteAsync(new Open("ann"))).Success);
        Assert.True((await cqrs.Commands.ExecuteAsync(new Deposit(5m))).Success);
        // The cache follows the journal: until its follower has read the two events above, it may still drop the first
        // answer for them (a loaded run did: computed twice). Once caught up, nothing invalidates this aggregate.
        await cqrs.Queries.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(5m, await cqrs.Queries.ExecuteAsync(new BalanceOf(id)));
        Assert.Equal(5m, await cqrs.Queries.ExecuteAsync(new BalanceOf(id)));
        Assert.Equal(1, Volatile.Read(ref computed)); // the second answer came from the cache
        Assert.Same(cqrs, CqrsExtension.Get(node.System));
    }

    [Fact]
    public void Bad_settings_fail_when_wired_naming_the_key_and_unset_ones_keep_the_defaults()
    {
        var builder = new Akka.Hosting.AkkaConfigurationBuilder(new Microsoft.Extensions.DependencyInjection.ServiceCollection(), "cqrs-options");
        var e = Assert.Throws<ConfigurationException>(() => builder.WithCqrs(c => c.QueryCacheCapacity = 0));
        Assert.Equal("akka.event-driven.cqrs.query-cache-capacity must be at least 1 (was 0).", e.Message);
        var defaults = CqrsSettings.Create(Config.Empty);
        Assert.Equal((10_000, true), (defaults.QueryCacheCapacity, defaults.InvalidateFromJournal));
        Assert.Equal(5, defaults.WithQueryCacheCapacity(5).QueryCacheCapacity);
        Assert.Throws<ConfigurationException>(() => defaults.WithQueryCacheCapacity(-1));
    }
}
