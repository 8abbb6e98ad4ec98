using System.Text;
using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Given/when/then specs of an aggregate with no actor system (pure and fast, like Akka's
/// <c>EventSourcedBehaviorTestKit</c>): fold the given events, decide the command, assert the raised events, the
/// rejection or the new state. Failures show the expected and actual events as stable type names and JSON. Every
/// given and raised event also goes through the registry's serializer, as the journal would take it, so an event
/// that is not registered or does not survive JSON fails here, at unit-test time.
/// </summary>
/// <example><code>
/// AggregateSpec.For(Investigation.Definition)
///     .Given(new InvestigationStarted("APT29", "ana", T0))
///     .When(new AddFinding("C2 beacon", 8))
///     .Then(new FindingAdded(new Finding("C2 beacon", 8)));
/// </code></example>
public static class AggregateSpec
{
    /// <summary>A spec of <paramref name="aggregate"/>. <paramref name="registry"/> names the events as the node would;
    /// default: every <see cref="EventTypeAttribute"/> type of the aggregate's assembly (what
    /// <c>o.RegisterTypes(typeof(MyAggregate).Assembly)</c> registers).</summary>
    public static AggregateSpec<TState> For<TState>(Aggregate<TState> aggregate, MessageTypeRegistry? registry = null)
        where TState : notnull
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        registry ??= new MessageTypeRegistry().RegisterAssembly(aggregate.GetType().Assembly);
        // The platform names the state like this when it has no name of its own (Aggregates.StartAsync).
        if (!registry.IsRegistered(typeof(TState))) registry.Register<TState>($"{aggregate.Name}.state", 1);
        return new AggregateSpec<TState>(aggregate, registry, [], []);
    }
}

/// <summary>A spec with its given events (immutable: every call returns a new spec, so one can be a shared starting point).</summary>
/// <typeparam name="TState">The aggregate's state.</typeparam>
public sealed class AggregateSpec<TState> where TState : notnull
{
    private readonly Aggregate<TState> _aggregate;
    private readonly IReadOnlyList<object> _given;
    private readonly IReadOnlyList<string> _ignored;

    internal AggregateSpec(Aggregate<TState> aggregate, MessageTypeRegistry registry, IReadOnlyList<object> given, IReadOnlyList<string> ignored)
    {
        _aggregate = aggregate;
        Registry = registry;
        _given = given;
        _ignored = ignored;
    }

    /// <summary>The registry events are named and serialized with.</summary>
    public MessageTypeRegistry Registry { get; }

    /// <summary>Events that happened before the command (appended to any given already).</summary>
    public AggregateSpec<TState> Given(params object[] events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events) ArgumentNullException.ThrowIfNull(e, nameof(events));
        return new(_aggregate, Registry, [.. _given, .. events], _ignored);
    }

    /// <summary>Compares events without these JSON members (any depth, case-insensitive), for values the aggregate
    /// makes up itself such as <c>DateTimeOffset.UtcNow</c>: <c>.Ignoring("startedAt")</c>.</summary>
    public AggregateSpec<TState> Ignoring(params string[] jsonMembers) => new(_aggregate, Registry, _given, [.. _ignored, .. jsonMembers]);

    /// <summary>The state after the given events (each read back through the serializer first, as recovery would).</summary>
    public TState State => Fold(_aggregate.InitialState, _given.Select((e, i) => RoundTrip(e, $"given event {i + 1}")));

    /// <summary>Decides <paramref name="command"/> against the state of the given events.</summary>
    public AggregateSpecResult<TState> When(object command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var before = State;
        Decision decision;
        try
        {
            decision = _aggregate.Decide(before, command);
        }
        catch (Exception e)
        {
            return new AggregateSpecResult<TState>(this, command, null, before, e);
        }
        var raised = decision.Events;
        var live = Fold(before, raised);
        if (raised.Count > 0)
        {
            var recovered = Fold(before, raised.Select((e, i) => RoundTrip(e, $"raised event {i + 1}")));
            if (MessageText.FirstDifference(MessageText.ToNode(Registry, live), MessageText.ToNode(Registry, recovered)) is { } d)
                throw Fail($"{_aggregate.Name}: the state after the raised events differs from the state recovered from their JSON ({d}): " +
                           "an event loses information in serialization.", command);
        }
        return new AggregateSpecResult<TState>(this, command, decision, live, null);
    }

    internal IReadOnlyList<string> Ignored => _ignored;
    internal string AggregateName => _aggregate.Name;

    private TState Fold(TState state, IEnumerable<object> events)
    {
        var n = 0;
        foreach (var e in events)
        {
            n++;
            try { state = _aggregate.Apply(state, e); }
            catch (Exception ex)
            {
                throw new EventDrivenAssertionException(
                    $"{_aggregate.Name}.Apply threw {ex.GetType().Name} on event {n} ({MessageText.Describe(Registry, e)}): {ex.Message}", ex);
            }
        }
        return state;
    }

    /// <summary>Serializes <paramref name="value"/> with the registry and reads it back, as the journal would.</summary>
    internal object RoundTrip(object value, string what)
    {
        byte[] bytes;
        string manifest;
        try
        {
            bytes = Registry.Serialize(value, out manifest);
        }
        catch (UnregisteredMessageTypeException e)
        {
            throw new EventDrivenAssertionException(
                $"{_aggregate.Name}: {what} ({value.GetType().Name}) cannot be stored: {e.Message}", e);
        }
        catch (Exception e)
        {
            throw new EventDrivenAssertionException(
                $"{_aggregate.Name}: {what} ({value.GetType().Name}) cannot be serialized to JSON: {e.Message}", e);
        }
        object back;
        try
        {
            back = Registry.Deserialize(bytes, manifest);
        }
        catch (Exception e)
        {
            throw new EventDrivenAssertionException(
                $"{_aggregate.Name}: {what} is written as {manifest} {Encoding.UTF8.GetString(bytes)} but cannot be read back: {e.Message}", e);
        }
        var written = JsonNode.Parse(bytes);
        var reread = MessageText.ToNode(Registry, back);
        if (MessageText.FirstDifference(written, reread) is { } diff)
            throw new EventDrivenAssertionException(
                $"{_aggregate.Name}: {what} does not round-trip through the serializer: written as {manifest} {MessageText.Compact(written)}, " +
                $"read back as {MessageText.Compact(reread)} ({diff}).");
        return back;
    }

    internal EventDrivenAssertionException Fail(string message, object command) => new($"{message}\n{Context(command)}");

    internal string Context(object command) =>
        $"Given {MessageText.Count(_given.Count, "event")}:\n{MessageText.List(Registry, _given)}\nWhen {MessageText.Describe(Registry, command)}";
}
