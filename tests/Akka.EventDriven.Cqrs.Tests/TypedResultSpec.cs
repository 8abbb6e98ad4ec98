namespace Akka.EventDriven.Cqrs.Tests;

/// <summary>Typed answers: a query that declares its result (<see cref="IQuery{TResult}"/>) is executed without the caller
/// restating the type, a handler that returns something else is refused at registration, and a command outcome gives
/// the aggregate's accepted result typed.</summary>
public sealed class TypedResultSpec : Akka.TestKit.Xunit2.TestKit
{
    private sealed record Balance(string Id) : IQuery<decimal>;
    private sealed record BalanceView(string Id, decimal Balance);
    private sealed record ViewOf(string Id) : IQuery<BalanceView>;
    private sealed record Recent(int Count) : IQuery<IReadOnlyList<int>>;
    private sealed record Untyped(string Id);

    private static Type StaticTypeOf<T>(T _) => typeof(T);

    private QueryBus NewBus() => new(Sys, invalidateFromJournal: false);

    [Fact]
    public async Task A_query_that_declares_its_result_is_executed_without_naming_the_result_type()
    {
        await using var queries = NewBus();
        queries.Register<Balance, decimal>((q, _) => Task.FromResult(q.Id.Length * 10m));
        queries.Register<ViewOf, BalanceView>((q, _) => Task.FromResult(new BalanceView(q.Id, 7m)));
        queries.Register<Recent, List<int>>((q, _) => Task.FromResult(Enumerable.Range(1, q.Count).ToList())); // a subtype fits

        decimal balance = await queries.ExecuteAsync(new Balance("acc-1"));
        Assert.Equal(50m, balance);
        var view = await queries.ExecuteAsync(new ViewOf("acc-2"));
        Assert.Equal(typeof(BalanceView), StaticTypeOf(view));   // inferred from IQuery<BalanceView>, not object
        Assert.Equal(new BalanceView("acc-2", 7m), view);
        var recent = await queries.ExecuteAsync(new Recent(3));
        Assert.Equal(typeof(IReadOnlyList<int>), StaticTypeOf(recent));
        Assert.Equal([1, 2, 3], recent);

        // The untyped calls (the HTTP endpoint's, which picks the query type by its registered name) still answer it.
        Assert.Equal(new BalanceView("acc-3", 7m), (await queries.QueryAsync(new ViewOf("acc-3"))).Result);
        Assert.Equal(50m, await queries.ExecuteAsync<decimal>((object)new Balance("acc-4")));
    }

    [Fact]
    public async Task A_handler_that_returns_another_type_than_the_query_declares_is_refused_at_registration()
    {
        await using var queries = NewBus();
        var error = Assert.Throws<ArgumentException>(() => queries.Register<Balance, string>((q, _) => Task.FromResult(q.Id)));
        Assert.Contains("'Balance' answers Decimal", error.Message);
        Assert.Contains("returns String", error.Message);
        Assert.False(queries.Handles(typeof(Balance)));
        Assert.Throws<ArgumentException>(() => queries.Register<Recent, IEnumerable<int>>((_, _) => Task.FromResult<IEnumerable<int>>([1])));

        queries.Register<Recent, int[]>((_, _) => Task.FromResult(new[] { 1 })); // an int[] is an IReadOnlyList<int>
        Assert.True(queries.Handles(typeof(Recent)));
        Assert.Equal([1], await queries.ExecuteAsync(new Recent(1)));
    }

    [Fact]
    public async Task An_untyped_query_whose_answer_does_not_fit_the_asked_type_names_both()
    {
        await using var queries = NewBus();
        queries.Register<Untyped, int>((_, _) => Task.FromResult(42));

        Assert.Equal(42, await queries.ExecuteAsync<int>(new Untyped("a")));
        var error = await Assert.ThrowsAsync<InvalidCastException>(() => queries.ExecuteAsync<string>(new Untyped("a")));
        Assert.Equal("Query 'Untyped' answered Int32, not String.", error.Message);
    }

    [Fact]
    public void A_command_outcome_gives_the_accepted_result_and_the_handlers_data_typed()
    {
        var accepted = new CommandAccepted("acc-1", 3, ["opened"]);
        var ok = CommandOutcome.Ok(accepted);
        Assert.Same(accepted, ok.Accepted);
        Assert.True(ok.TryGetData<CommandAccepted>(out var data));
        Assert.Same(accepted, data);
        Assert.False(ok.TryGetData<string>(out _));

        var custom = CommandOutcome.Ok("receipt-7"); // a handler of its own (Register), not an aggregate's
        Assert.Null(custom.Accepted);
        Assert.True(custom.TryGetData<string>(out var receipt));
        Assert.Equal("receipt-7", receipt);

        var failed = CommandOutcome.Fail(CommandErrorKind.Rejected, "Insufficient funds.");
        Assert.Null(failed.Accepted);
        Assert.False(failed.TryGetData<object>(out _));
        Assert.Null(CommandOutcome.Ok().Accepted);
    }
}
