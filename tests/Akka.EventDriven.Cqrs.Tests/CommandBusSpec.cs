using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Cqrs.Tests;

public abstract class CommandBusSpec
{
    protected abstract TestStore NewStore();

    private sealed record Archive(string Note);

    [Fact]
    public async Task Outcomes_distinguish_success_rejection_conflict_validation_missing_handler_and_failure()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"bus-{Guid.NewGuid():N}";
        var bus = new CommandBus()
            .RegisterAggregate<Open, LedgerState>(node.Ledger, _ => id, validate: c => string.IsNullOrWhiteSpace(c.Owner) ? "Owner is required." : null)
            .RegisterAggregate<Deposit, LedgerState>(node.Ledger, _ => id, options: d => d.Amount == 99m ? new CommandOptions { ExpectedVersion = 0 } : null)
            .RegisterAggregate<Withdraw, LedgerState>(node.Ledger, _ => id)
            .Register<Audit>((_, _) => throw new TimeoutException("slow audit"))
            .Register<Archive>((_, _) => throw new InvalidOperationException("archive store is down"));

        var ok = await bus.ExecuteAsync(new Open("ann"));
        Assert.True(ok.Success);
        Assert.Equal(1, Assert.IsType<CommandAccepted>(ok.Data).Version);
        Assert.Equal((id, 1L), (ok.Accepted?.AggregateId, ok.Accepted?.Version));
        Assert.Equal(new Opened("ann"), Assert.Single(ok.Accepted!.Events));
        Assert.Equal(CommandErrorKind.Validation, (await bus.ExecuteAsync(new Open(" "))).ErrorKind);
        var rejected = await bus.ExecuteAsync(new Withdraw(5m));
        Assert.Equal(CommandErrorKind.Rejected, rejected.ErrorKind);
        Assert.Null(rejected.Accepted);
        var conflict = await bus.ExecuteAsync(new Deposit(99m));
        Assert.Equal(CommandErrorKind.ConcurrencyConflict, conflict.ErrorKind);
        Assert.Contains("Expected version 0", conflict.Error);
        Assert.Equal(CommandErrorKind.Timeout, (await bus.ExecuteAsync(new Audit("x"))).ErrorKind);
        var failed = await bus.ExecuteAsync(new Archive("x"));
        Assert.False(failed.Success);
        Assert.Equal(CommandErrorKind.Failed, failed.ErrorKind);
        Assert.Contains("archive store is down", failed.Error);
        var none = await bus.ExecuteAsync(new LegacyDeposit(1));
        Assert.Equal(CommandErrorKind.NoHandler, none.ErrorKind);
        Assert.Contains(nameof(LegacyDeposit), none.Error);
        Assert.Equal(1, (await node.Ledger.GetStateAsync(id)).Version); // nothing but the Open was stored
        Assert.Throws<InvalidOperationException>(() => bus.Register<Audit>((_, _) => Task.FromResult(CommandOutcome.Ok())));
    }
}

public sealed class SqliteCommandBusSpec : CommandBusSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

public sealed class PostgreSqlCommandBusSpec : CommandBusSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();
}
