#region usings
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventSourcing;
#endregion
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Cqrs.Tests.Readme;

/// <summary>The README's command and query bus example (regions cqrs-commands, cqrs-query-type, cqrs-queries, checked
/// against the README by ReadmeSnippetsSpec), run on one SQLite node with the Ledger test aggregate.</summary>
public sealed class ReadmeSnippets
{
    #region cqrs-query-type
    // A query declares its answer, so the result type is inferred and a handler returning another type is refused.
    public sealed record Balance(string Id) : IQuery<decimal>;
    #endregion

    private sealed record ByTag(string Tag);

    private int _counted;

    /// <summary>Counts its own runs: a cached answer does not run it again.</summary>
    private Task<int> CountAsync(ByTag q, CancellationToken ct) => Task.FromResult(Interlocked.Increment(ref _counted));

    [Fact]
    public async Task The_readme_command_and_query_bus_example_runs()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var system = node.System;
        var ledgers = node.Ledger;

        #region cqrs-commands
        var commands = new CommandBus()
            .RegisterAggregate<Open, LedgerState>(ledgers, c => c.Owner, validate: c => string.IsNullOrWhiteSpace(c.Owner) ? "Owner is required." : null)
            .Register<Audit>((command, ct) => Task.FromResult(CommandOutcome.Ok()));
        CommandOutcome outcome = await commands.ExecuteAsync(new Open("ann"));
        // outcome.Success, outcome.Accepted (the aggregate's CommandAccepted: version, events; null unless accepted),
        // outcome.TryGetData<T>(out var data) for a handler's own result, or outcome.ErrorKind: Validation, Rejected,
        // ConcurrencyConflict, Timeout, NoHandler, Failed - never an exception for these
        long version = outcome.Accepted?.Version ?? 0;
        #endregion

        Assert.True(outcome.Success);
        Assert.Equal(1, version);
        Assert.Equal("ann", (await ledgers.GetStateAsync("ann")).State.Owner);
        Assert.Equal(CommandErrorKind.Validation, (await commands.ExecuteAsync(new Open(" "))).ErrorKind);
        Assert.True((await commands.ExecuteAsync(new Audit("checked"))).Success);
        await ledgers.SendAsync("acc-1", new Open("bob"));
        await ledgers.SendAsync("acc-1", new Deposit(5m));

        #region cqrs-queries
        await using var queries = new QueryBus(system);               // follows the journal to invalidate the cache
        queries.Register<Balance, decimal>(
            async (q, ct) => (await ledgers.GetStateAsync(q.Id, ct)).State.Balance,
            new QueryCacheOptions<Balance>(Ttl: TimeSpan.FromMinutes(5), InvalidatedBy: q => [PersistenceIds.For("Ledger", q.Id)]));
        decimal balance = await queries.ExecuteAsync(new Balance("acc-1"));
        // or stale on any event with a tag: an aggregate name, or a tag from Aggregate.Tags(event)
        queries.Register<ByTag, int>((q, ct) => CountAsync(q, ct), new QueryCacheOptions<ByTag>(TimeSpan.FromMinutes(5), InvalidatedByTags: q => [q.Tag]));
        int count = await queries.ExecuteAsync<int>(new ByTag("Ledger"));  // a query without IQuery<T>: the caller names the type
        #endregion

        Assert.Equal(5m, balance);
        Assert.Equal(1, count);
        // A deposit to acc-1 is a Ledger event of that aggregate: both cached answers go stale and are computed again.
        await queries.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        var cached = await queries.ExecuteAsync<int>(new ByTag("Ledger"));
        Assert.Equal(cached, await queries.ExecuteAsync<int>(new ByTag("Ledger")));   // served from the cache
        await ledgers.SendAsync("acc-1", new Deposit(3m));
        await TestWait.UntilAsync(async () => Assert.Equal(8m, await queries.ExecuteAsync(new Balance("acc-1"))));
        await TestWait.UntilAsync(async () => Assert.True(await queries.ExecuteAsync<int>(new ByTag("Ledger")) > cached));
    }
}
