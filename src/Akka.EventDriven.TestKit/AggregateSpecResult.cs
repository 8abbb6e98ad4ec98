using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>What the command did: assert it with <see cref="Then"/>, <see cref="ThenNothing"/>,
/// <see cref="ThenRejected"/>, <see cref="ThenState(Action{TState})"/> (chainable).</summary>
/// <typeparam name="TState">The aggregate's state.</typeparam>
public sealed class AggregateSpecResult<TState> where TState : notnull
{
    private readonly AggregateSpec<TState> _spec;
    private readonly object _command;
    private readonly Exception? _thrown;

    internal AggregateSpecResult(AggregateSpec<TState> spec, object command, Decision? decision, TState state, Exception? thrown)
    {
        _spec = spec;
        _command = command;
        Decision = decision;
        State = state;
        _thrown = thrown;
    }

    /// <summary>The decision; null when <c>Decide</c> threw.</summary>
    public Decision? Decision { get; }

    /// <summary>The raised events (none when rejected).</summary>
    public IReadOnlyList<object> Events => Decision?.Events ?? [];

    /// <summary>The state after the raised events.</summary>
    public TState State { get; }

    private MessageTypeRegistry Registry => _spec.Registry;

    /// <summary>The command was accepted and raised exactly these events, in order (compared as type name and JSON,
    /// without the members given to <see cref="AggregateSpec{TState}.Ignoring"/>).</summary>
    public AggregateSpecResult<TState> Then(params object[] expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Accepted($"expected {MessageText.Count(expected.Length, "event")}:\n{MessageText.List(Registry, expected)}");
        var problem = Compare(expected, Events);
        if (problem is not null)
            throw _spec.Fail($"{_spec.AggregateName}: expected {MessageText.Count(expected.Length, "event")}:\n{MessageText.List(Registry, expected)}\n" +
                             $"but it raised {MessageText.Count(Events.Count, "event")}:\n{MessageText.List(Registry, Events)}\n{problem}", _command);
        return this;
    }

    /// <summary>The command was accepted and raised no event (an idempotent repeat, say).</summary>
    public AggregateSpecResult<TState> ThenNothing() => Then();

    /// <summary>The command was rejected, with a reason containing <paramref name="reasonContains"/> (ordinal,
    /// case-insensitive) when given.</summary>
    public AggregateSpecResult<TState> ThenRejected(string? reasonContains = null)
    {
        ThrowIfThrew("a rejection");
        if (Decision is not { IsRejected: true } d)
            throw _spec.Fail($"{_spec.AggregateName}: expected a rejection{(reasonContains is null ? "" : $" containing \"{reasonContains}\"")}, " +
                             $"but the command was accepted and raised {MessageText.Count(Events.Count, "event")}:\n{MessageText.List(Registry, Events)}", _command);
        if (reasonContains is not null && !d.RejectionReason!.Contains(reasonContains, StringComparison.OrdinalIgnoreCase))
            throw _spec.Fail($"{_spec.AggregateName}: expected a rejection containing \"{reasonContains}\", but it was rejected with \"{d.RejectionReason}\"", _command);
        return this;
    }

    /// <summary>Runs <paramref name="assertion"/> (xUnit asserts) on the state after the command.</summary>
    public AggregateSpecResult<TState> ThenState(Action<TState> assertion)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        ThrowIfThrew("a state");
        try { assertion(State); }
        catch (Exception e) when (e is not EventDrivenAssertionException)
        {
            throw new EventDrivenAssertionException(
                $"{_spec.AggregateName}: the state after the command is not as expected: {e.Message}\nState: {MessageText.Describe(Registry, State)}\n{_spec.Context(_command)}", e);
        }
        return this;
    }

    /// <summary>The state after the command satisfies <paramref name="predicate"/>; <paramref name="because"/> names it in the failure.</summary>
    public AggregateSpecResult<TState> ThenState(Func<TState, bool> predicate, string? because = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        ThrowIfThrew("a state");
        if (!predicate(State))
            throw _spec.Fail($"{_spec.AggregateName}: the state after the command does not satisfy {because ?? "the predicate"}\nState: {MessageText.Describe(Registry, State)}", _command);
        return this;
    }

    /// <summary><c>Decide</c> threw <typeparamref name="TException"/> (the platform answers such a command with a failure, not a rejection).</summary>
    public TException ThenThrows<TException>() where TException : Exception
    {
        if (_thrown is TException e) return e;
        throw _spec.Fail(_thrown is null
            ? $"{_spec.AggregateName}: expected Decide to throw {typeof(TException).Name}, but it returned a decision ({Outcome()})"
            : $"{_spec.AggregateName}: expected Decide to throw {typeof(TException).Name}, but it threw {_thrown.GetType().Name}: {_thrown.Message}", _command);
    }

    private string Outcome() => Decision!.IsRejected
        ? $"rejected: \"{Decision.RejectionReason}\""
        : $"accepted with {MessageText.Count(Events.Count, "event")}";

    private void Accepted(string expectation)
    {
        ThrowIfThrew(expectation);
        if (Decision!.IsRejected)
            throw _spec.Fail($"{_spec.AggregateName}: {expectation}\nbut the command was rejected: \"{Decision.RejectionReason}\"", _command);
    }

    private void ThrowIfThrew(string expectation)
    {
        if (_thrown is not null)
            throw new EventDrivenAssertionException(
                $"{_spec.AggregateName}: {expectation}\nbut Decide threw {_thrown.GetType().Name}: {_thrown.Message}\n{_spec.Context(_command)}", _thrown);
    }

    private string? Compare(IReadOnlyList<object> expected, IReadOnlyList<object> actual)
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            if (i >= expected.Count) return $"event {i + 1} was not expected: {MessageText.Describe(Registry, actual[i])}";
            if (i >= actual.Count) return $"event {i + 1} is missing: {MessageText.Describe(Registry, expected[i])}";
            var (wantName, gotName) = (MessageText.NameOf(Registry, expected[i]), MessageText.NameOf(Registry, actual[i]));
            if (wantName != gotName) return $"event {i + 1}: expected type {wantName}, actual {gotName}";
            var want = MessageText.Without(MessageText.ToNode(Registry, expected[i]), _spec.Ignored);
            var got = MessageText.Without(MessageText.ToNode(Registry, actual[i]), _spec.Ignored);
            if (MessageText.FirstDifference(want, got) is { } d) return $"event {i + 1} ({gotName}) differs at {d}";
        }
        return null;
    }
}
