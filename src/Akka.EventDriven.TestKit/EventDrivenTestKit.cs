using Akka.Actor;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Projections;
using Akka.Hosting;
using Xunit;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Base class of a spec that runs against a real node: xUnit starts an <see cref="EventDrivenTestNode"/> (a store of its
/// own: a new SQLite file, or a new database on the PostgreSQL server of <c>DATABASE_URL</c> when it is set; fast cluster
/// timings) before each test and disposes node and store after, so fixed ids and tags never leak between tests.
/// Override <see cref="ConfigureEventDriven"/> to register types and aggregates and <see cref="ConfigureAkka"/> for more
/// (sagas, projections). The bus, probes and command helpers are one call away.
/// </summary>
/// <example><code>
/// public sealed class InvestigationNodeSpec : EventDrivenTestKit
/// {
///     protected override void ConfigureEventDriven(EventDrivenOptions o) =&gt;
///         o.RegisterTypes(typeof(Investigation).Assembly).AddAggregate(Investigation.Definition);
///
///     [Fact]
///     public async Task Starts() =&gt;
///         await ExpectAcceptedAsync(Investigation.Definition, "inv-1", new StartInvestigation("APT29", "ana"));
/// }
/// </code></example>
public abstract class EventDrivenTestKit : IAsyncLifetime
{
    private EventDrivenTestNode? _node;
    private EventDrivenTestStore? _store;

    /// <summary>The running node (available inside tests).</summary>
    public EventDrivenTestNode Node => _node ?? throw new InvalidOperationException("The test node is not started yet (it starts before each test).");

    /// <summary>The node's actor system.</summary>
    public ActorSystem Sys => Node.System;

    /// <summary>The node's event bus.</summary>
    public MessageBus Bus => Node.Bus;

    /// <summary>Registers the spec's types and aggregates (the <c>WithEventDriven</c> options).</summary>
    protected abstract void ConfigureEventDriven(EventDrivenOptions options);

    /// <summary>More Akka.Hosting wiring after <c>WithEventDriven</c> and <c>WithEventBus</c>. Default: none.</summary>
    protected virtual void ConfigureAkka(AkkaConfigurationBuilder builder) { }

    /// <summary>Where the node stores events, disposed after the node. Default <see cref="EventDrivenTestStore.FromEnvironment"/>:
    /// every test starts on an empty store of its own.</summary>
    protected virtual EventDrivenTestStore CreateStore() => EventDrivenTestStore.FromEnvironment();

    /// <summary>Sends a command; see <see cref="EventDrivenTestNode.SendAsync{TState}"/>.</summary>
    protected Task<CommandResult> SendAsync<TState>(Aggregate<TState> aggregate, string id, object command, CommandOptions? options = null)
        where TState : notnull => Node.SendAsync(aggregate, id, command, options);

    /// <summary>Sends a command that must be accepted; see <see cref="EventDrivenTestNode.ExpectAcceptedAsync{TState}"/>.</summary>
    protected Task<CommandAccepted> ExpectAcceptedAsync<TState>(Aggregate<TState> aggregate, string id, object command, CommandOptions? options = null)
        where TState : notnull => Node.ExpectAcceptedAsync(aggregate, id, command, options);

    /// <summary>Sends a command that must be rejected; see <see cref="EventDrivenTestNode.ExpectRejectedAsync{TState}"/>.</summary>
    protected Task<CommandRejected> ExpectRejectedAsync<TState>(Aggregate<TState> aggregate, string id, object command, string? reasonContains = null)
        where TState : notnull => Node.ExpectRejectedAsync(aggregate, id, command, reasonContains);

    /// <summary>An aggregate's state and version.</summary>
    protected Task<AggregateState<TState>> StateOfAsync<TState>(Aggregate<TState> aggregate, string id) where TState : notnull =>
        Node.StateOfAsync(aggregate, id);

    /// <summary>A <see cref="TopicProbe{T}"/> subscribed to <paramref name="topic"/>.</summary>
    protected Task<TopicProbe<T>> SubscribeProbeAsync<T>(string topic, EventBus.SubscriptionOptions? options = null) =>
        Node.SubscribeProbeAsync<T>(topic, options);

    /// <summary>A <see cref="TestKit.DeadLetterProbe"/> on <paramref name="queue"/>.</summary>
    protected DeadLetterProbe DeadLetterProbe(string? queue = null) => Node.DeadLetterProbe(queue);

    /// <summary>A <see cref="TestKit.ProjectionProbe"/> on <paramref name="projection"/>.</summary>
    protected ProjectionProbe ProjectionProbe(Projection projection) => Node.ProjectionProbe(projection);

    /// <summary>A <see cref="TestKit.SagaProbe"/> (the node needs <c>WithSagas</c> in <see cref="ConfigureAkka"/>).</summary>
    protected SagaProbe SagaProbe() => Node.SagaProbe();

    /// <summary>A name unique to this test run, for topics, queues, ids and projections: <c>{prefix}-{guid}</c>.</summary>
    protected static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <inheritdoc />
    public virtual async Task InitializeAsync()
    {
        _store = CreateStore();
        _node = await EventDrivenTestNode.StartAsync(ConfigureEventDriven, ConfigureAkka, _store);
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        try
        {
            if (_node is not null) await _node.DisposeAsync();
        }
        finally
        {
            if (_store is not null) await _store.DisposeAsync();
        }
    }
}
