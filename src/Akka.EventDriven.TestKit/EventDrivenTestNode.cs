using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Serialization;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// A one-node cluster for tests, built the way users build theirs (a generic host with <c>AddAkka</c> and
/// <c>WithEventDriven</c>), on a new SQLite file or PostgreSQL database (<see cref="EventDrivenTestStore.FromEnvironment"/>),
/// with fast cluster timings (127.0.0.1, any free port, 200 ms gossip). <see cref="StartAsync"/> returns once the node
/// is Up and every start-up task (aggregates, bus, sagas) ran; dispose it to leave and remove the store it created.
/// </summary>
/// <example><code>
/// await using var node = await EventDrivenTestNode.StartAsync(o =&gt;
/// {
///     o.RegisterTypes(typeof(Investigation).Assembly);
///     o.AddAggregate(Investigation.Definition);
/// });
/// await node.ExpectAcceptedAsync(Investigation.Definition, "inv-1", new StartInvestigation("APT29", "ana"));
/// </code></example>
public sealed class EventDrivenTestNode : IAsyncDisposable
{
    private static readonly Lazy<string> TestConfigFile = new(WriteTestConfig);
    private readonly IHost _host;
    private int _disposed;
    private readonly bool _ownsStore;

    private EventDrivenTestNode(IHost host, EventDrivenTestStore store, bool ownsStore)
    {
        _host = host;
        Store = store;
        _ownsStore = ownsStore;
    }

    /// <summary>The node's actor system.</summary>
    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    /// <summary>The host's services (what <c>AddAkka</c> registered, and anything <c>services</c> added).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Where the node stores its events.</summary>
    public EventDrivenTestStore Store { get; }

    /// <summary>The registry of stable type names the node serializes with.</summary>
    public MessageTypeRegistry Registry => MessageTypes.For(System);

    /// <summary>The node's event bus.</summary>
    public MessageBus Bus => MessageBus.Get(System);

    /// <summary>
    /// Starts a node: <paramref name="configure"/> registers types and aggregates (store and environment are preset:
    /// the test store and the TestKit's fast timings; set them to override), <paramref name="configureAkka"/> adds more
    /// (<c>WithSagas</c>, <c>WithProjection</c>, HOCON), <paramref name="services"/> adds services.
    /// </summary>
    /// <param name="configure">The <c>WithEventDriven</c> options.</param>
    /// <param name="configureAkka">More Akka.Hosting wiring, after <c>WithEventDriven</c> and <c>WithEventBus</c>.</param>
    /// <param name="store">Default: a new <see cref="EventDrivenTestStore.FromEnvironment"/> store, removed with the
    /// node. A store passed here outlives the node: dispose it after its last node.</param>
    /// <param name="eventBus">Wire the event bus (<c>WithEventBus()</c>). Default true.</param>
    /// <param name="systemName">The actor system name. Default <c>eventdriven-test</c>.</param>
    /// <param name="services">More services for the host.</param>
    /// <param name="startTimeout">How long start-up and joining may take. Default 60 s.</param>
    public static async Task<EventDrivenTestNode> StartAsync(Action<EventDrivenOptions> configure,
        Action<AkkaConfigurationBuilder>? configureAkka = null, EventDrivenTestStore? store = null, bool eventBus = true,
        string systemName = "eventdriven-test", Action<IServiceCollection>? services = null, TimeSpan? startTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var ownsStore = store is null;
        store ??= EventDrivenTestStore.FromEnvironment();
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureServices(s =>
            {
                services?.Invoke(s);
                s.AddAkka(systemName, b =>
                {
                    b.WithEventDriven(o =>
                    {
                        o.EnvironmentFile = TestConfigFile.Value;
                        o.Persistence.Provider = store.Provider;
                        o.Persistence.ConnectionString = store.NodeConnectionString;
                        configure(o);
                    });
                    if (eventBus) b.WithEventBus();
                    configureAkka?.Invoke(b);
                });
            })
            .Build();
        var timeout = startTimeout ?? TimeSpan.FromSeconds(60);
        var node = new EventDrivenTestNode(host, store, ownsStore);
        try
        {
            using (var cts = new CancellationTokenSource(timeout))
            {
                await store.EnsureCreatedAsync(cts.Token);
                await host.StartAsync(cts.Token);
            }
            var cluster = Cluster.Cluster.Get(node.System);
            await Wait.UntilAsync(() => cluster.SelfMember.Status == MemberStatus.Up, timeout,
                () => $"The test node did not become Up within {timeout} (it is {cluster.SelfMember.Status}).");
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
    }

    /// <summary>The repository of an aggregate added with <c>AddAggregate</c>.</summary>
    public AggregateRepository<TState> Repository<TState>(Aggregate<TState> aggregate) where TState : notnull =>
        Aggregates.Get(System).Repository(aggregate);

    /// <summary>Sends <paramref name="command"/> to aggregate <paramref name="aggregateId"/>.</summary>
    public Task<CommandResult> SendAsync<TState>(Aggregate<TState> aggregate, string aggregateId, object command, CommandOptions? options = null)
        where TState : notnull => Repository(aggregate).SendAsync(aggregateId, command, options);

    /// <summary>Sends the command and fails, with the reason, unless it is accepted.</summary>
    public async Task<CommandAccepted> ExpectAcceptedAsync<TState>(Aggregate<TState> aggregate, string aggregateId, object command,
        CommandOptions? options = null) where TState : notnull
    {
        var result = await SendAsync(aggregate, aggregateId, command, options);
        return result as CommandAccepted ?? throw new EventDrivenAssertionException(
            $"{aggregate.Name} {aggregateId}: expected {MessageText.Describe(Registry, command)} to be accepted, but it was rejected " +
            $"at version {result.Version}: \"{((CommandRejected)result).Reason}\"");
    }

    /// <summary>Sends the command and fails unless it is rejected (with a reason containing <paramref name="reasonContains"/>, when given).</summary>
    public async Task<CommandRejected> ExpectRejectedAsync<TState>(Aggregate<TState> aggregate, string aggregateId, object command,
        string? reasonContains = null, CommandOptions? options = null) where TState : notnull
    {
        var result = await SendAsync(aggregate, aggregateId, command, options);
        if (result is CommandAccepted a)
            throw new EventDrivenAssertionException(
                $"{aggregate.Name} {aggregateId}: expected {MessageText.Describe(Registry, command)} to be rejected, but it was accepted " +
                $"(version {a.Version}) and raised:\n{MessageText.List(Registry, a.Events)}");
        var rejected = (CommandRejected)result;
        if (reasonContains is not null && !rejected.Reason.Contains(reasonContains, StringComparison.OrdinalIgnoreCase))
            throw new EventDrivenAssertionException(
                $"{aggregate.Name} {aggregateId}: expected a rejection containing \"{reasonContains}\", but it was rejected with \"{rejected.Reason}\"");
        return rejected;
    }

    /// <summary>The aggregate's current state and version.</summary>
    public Task<AggregateState<TState>> StateOfAsync<TState>(Aggregate<TState> aggregate, string aggregateId) where TState : notnull =>
        Repository(aggregate).GetStateAsync(aggregateId);

    /// <summary>Subscribes a <see cref="TopicProbe{T}"/> to <paramref name="topic"/> on this node's bus.</summary>
    public Task<TopicProbe<T>> SubscribeProbeAsync<T>(string topic, SubscriptionOptions? options = null) =>
        TopicProbe<T>.SubscribeAsync(System, topic, options);

    /// <summary>A <see cref="TestKit.DeadLetterProbe"/> on the dead-letter queue <paramref name="queue"/> (default: the bus's default queue).</summary>
    public DeadLetterProbe DeadLetterProbe(string? queue = null) => new(Bus, Registry, queue);

    /// <summary>A <see cref="TestKit.ProjectionProbe"/> on <paramref name="projection"/>.</summary>
    public ProjectionProbe ProjectionProbe(Projection projection) => new(projection);

    /// <summary>A <see cref="TestKit.SagaProbe"/> on this node's saga orchestrator (the node needs <c>WithSagas</c>).</summary>
    public SagaProbe SagaProbe() => new(System);

    /// <summary>Stops the node (leaving the cluster through coordinated shutdown) and removes the store it created (not one passed to it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StopAsync(cts.Token);
        }
        finally
        {
            _host.Dispose();
            if (_ownsStore) await Store.DisposeAsync();
        }
    }

    private static string WriteTestConfig()
    {
        using var stream = typeof(EventDrivenTestNode).Assembly.GetManifestResourceStream("Akka.EventDriven.TestKit.testkit.conf")
                           ?? throw new InvalidOperationException("The TestKit's testkit.conf resource is missing.");
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        var version = typeof(EventDrivenTestNode).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var path = Path.Combine(Path.GetTempPath(), $"eventdriven-testkit-{Environment.ProcessId}-{Math.Abs(version.GetHashCode())}.conf");
        File.WriteAllText(path, text);
        return path;
    }
}

/// <summary>Polling with a deadline (the TestKit never sleeps a fixed time to wait for something).</summary>
internal static class Wait
{
    public static TimeSpan Default => TimeSpan.FromSeconds(10);

    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> failure) =>
        await UntilAsync(() => Task.FromResult(condition()), timeout, failure);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new EventDrivenAssertionException(failure());
            await Task.Delay(25);
        }
    }
}
