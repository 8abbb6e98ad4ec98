using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Sagas.Internal;

namespace Akka.EventDriven.Sagas;

/// <summary>
/// The saga orchestrator of an actor system: register definitions, then
/// <see cref="ExecuteAsync{TData}"/> starts an instance as a sharded persistent actor keyed by its id and returns the
/// id; <see cref="WaitForCompletionAsync"/> and <see cref="GetStatusAsync"/> follow it from any node.
/// With Akka.Hosting, <c>WithSagas</c> does the registration and start.
/// </summary>
public sealed class SagaOrchestrator : IExtension
{
    /// <summary>The sharding type name of saga instances.</summary>
    public const string RegionName = "saga";

    private readonly ExtendedActorSystem _system;
    private readonly ConcurrentDictionary<string, ISagaDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly object _startLock = new();
    private Task<(IActorRef Region, SagaRuntime Runtime)>? _started;
    private ISagaEventPublisher _publisher;

    internal SagaOrchestrator(ExtendedActorSystem system)
    {
        _system = system;
        system.Settings.InjectTopLevelFallback(SagaConfig.DefaultConfig());
        SagaTypes.Register(MessageTypes.For(system));
        Settings = SagaSettings.Create(system);
        _publisher = new CompositeSagaEventPublisher(new EventStreamSagaEventPublisher(system), new BusSagaEventPublisher(system));
    }

    /// <summary>The orchestrator of <paramref name="system"/>.</summary>
    public static SagaOrchestrator Get(ActorSystem system) => system.WithExtension<SagaOrchestrator, SagaOrchestratorProvider>();

    /// <summary>The settings (<c>akka.event-driven.sagas</c>).</summary>
    public SagaSettings Settings { get; }

    /// <summary>Where lifecycle events go. Default: the system's EventStream (<see cref="EventStreamSagaEventPublisher"/>)
    /// and the event bus, topic <c>saga.{name}</c> (<see cref="BusSagaEventPublisher"/>).</summary>
    public ISagaEventPublisher Publisher
    {
        get => _publisher;
        set
        {
            _publisher = value ?? throw new ArgumentNullException(nameof(value));
            if (_started is { IsCompletedSuccessfully: true } s) s.Result.Runtime.Publisher = value;
        }
    }

    /// <summary>The registered definitions.</summary>
    public IReadOnlyDictionary<string, ISagaDefinition> Definitions => _definitions;

    /// <summary>Registers <paramref name="definition"/> on this node. Every node that hosts sagas must register every
    /// definition (a saga may resume on any node).</summary>
    public SagaOrchestrator Register(ISagaDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_definitions.TryAdd(definition.Name, definition) && !ReferenceEquals(_definitions[definition.Name], definition))
            throw new ArgumentException($"A saga named '{definition.Name}' is already registered.", nameof(definition));
        if (_started is { IsCompletedSuccessfully: true } s) s.Result.Runtime.Definitions[definition.Name] = definition;
        return this;
    }

    /// <summary>Defines (<see cref="SagaDefinition.Define{TData}"/>) and registers a saga.</summary>
    public SagaDefinition<TData> DefineSaga<TData>(string name, Action<SagaBuilder<TData>> build) where TData : class
    {
        var definition = SagaDefinition.Define(name, build);
        Register(definition);
        return definition;
    }

    /// <summary>Starts (once) the saga region, the index of running sagas and this node's resume sweep. Called by
    /// <c>WithSagas</c> and, lazily, by the first call that needs it.</summary>
    public Task StartAsync() => EnsureStarted();

    private Task<(IActorRef Region, SagaRuntime Runtime)> EnsureStarted()
    {
        lock (_startLock)
        {
            if (_started is null || _started.IsFaulted || _started.IsCanceled) _started = StartCoreAsync();
            return _started;
        }
    }

    private async Task<(IActorRef, SagaRuntime)> StartCoreAsync()
    {
        var store = StoreSettings.FromConfig(_system.Settings.Config);
        var log = Logging.GetLogger(_system, typeof(SagaOrchestrator));
        var index = await SagaIndex.OpenAsync(store, Settings.IndexTable, e => log.Warning(e, "Writing the saga index failed"));
        var runtime = new SagaRuntime(Settings, MessageTypes.For(_system).JsonOptions, index) { Publisher = _publisher };
        foreach (var (name, definition) in _definitions) runtime.Definitions[name] = definition;

        var sharding = ClusterSharding.Get(_system);
        // Finished sagas passivate themselves (passivate-after-finish); a running saga never passivates for idleness.
        var settings = ClusterShardingSettings.Create(_system).WithPassivateIdleAfter(TimeSpan.Zero).WithRememberEntities(false);
        if (Settings.Role is { } role) settings = settings.WithRole(role);
        var region = await sharding.StartAsync(RegionName, id => SagaEntity.Props(id, runtime), settings,
            new SagaMessageExtractor(Settings.NumberOfShards), sharding.DefaultShardAllocationStrategy(settings),
            SagaEntity.Stop.Instance);
        _system.ActorOf(SagaResumer.Props(region, runtime), "saga-resumer");
        // Queued index writes are flushed during coordinated shutdown (also run by ActorSystem.Terminate), awaited
        // there instead of blocking a thread; the phase's timeout bounds it. A system terminated without running it
        // still completes the writers, in the background.
        CoordinatedShutdown.Get(_system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "close-saga-index", async () =>
        {
            await index.DisposeAsync();
            return Done.Instance;
        });
        _system.RegisterOnTermination(() => _ = index.DisposeAsync().AsTask());
        return (region, runtime);
    }

    /// <summary>
    /// Starts an instance of the saga <paramref name="sagaName"/> with <paramref name="input"/> as its data and returns
    /// its id once the start is durable (journaled, and in the index of running sagas). The saga then runs on its own;
    /// follow it with <see cref="WaitForCompletionAsync"/> or <see cref="GetStatusAsync"/>.
    /// </summary>
    public async Task<string> ExecuteAsync<TData>(string sagaName, TData input, SagaStartOptions? options = null,
        CancellationToken cancellationToken = default) where TData : class
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!_definitions.TryGetValue(sagaName, out var definition))
            throw new ArgumentException($"No saga named '{sagaName}' is registered on this node.", nameof(sagaName));
        if (!definition.DataType.IsInstanceOfType(input))
            throw new ArgumentException($"Saga '{sagaName}' takes {definition.DataType.Name} data, not {input.GetType().Name}.", nameof(input));
        if (options?.SagaId is { } given && (string.IsNullOrWhiteSpace(given) || given.Length > 200))
            throw new ArgumentException("A saga id must be 1-200 characters and not blank.", nameof(options));
        // Checked here, where the caller sees it: PostgreSQL text refuses NUL, and in the index's group commit one such
        // value would fail the writes of every saga started beside it.
        if (options?.SagaId is { } withNul && withNul.Contains('\0'))
            throw new ArgumentException("A saga id must not contain a NUL character (U+0000).", nameof(options));
        if (options?.CorrelationId is { } correlation && correlation.Contains('\0'))
            throw new ArgumentException("A correlation id must not contain a NUL character (U+0000).", nameof(options));
        var (region, runtime) = await EnsureStarted();
        var id = options?.SagaId ?? Guid.NewGuid().ToString("N");
        var data = JsonSerializer.SerializeToElement(input, definition.DataType, runtime.Json);
        var deadline = options?.Deadline is { } d ? DateTimeOffset.UtcNow + d : (DateTimeOffset?)null;

        // Indexed first: a saga whose start is journaled is always found again by the resume sweep.
        await runtime.Index.AddAsync(id, sagaName).WaitAsync(cancellationToken);
        using var activity = SagaTracing.Source.HasListeners()
            ? Akka.EventDriven.Diagnostics.EventDrivenTracing.StartFrom(SagaTracing.Source, $"saga start {sagaName}",
                System.Diagnostics.ActivityKind.Producer, null)
            : null;
        activity?.SetTag("event_driven.saga", sagaName);
        activity?.SetTag("event_driven.saga_id", id);
        var traceParent = Akka.EventDriven.Diagnostics.EventDrivenTracing.CaptureCurrent(out var traceState);
        var reply = await region.Ask<SagaStartReply>(new StartSaga(id, sagaName, data, deadline, options?.CorrelationId, traceParent, traceState),
            Settings.AskTimeout, cancellationToken);
        if (reply.Error is not null)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reply.Error);
            throw new InvalidOperationException(reply.Error);
        }
        return id;
    }

    /// <summary>Starts the saga and waits until it finished (<see cref="ExecuteAsync{TData}"/> + <see cref="WaitForCompletionAsync"/>).</summary>
    public async Task<SagaStatus> RunAsync<TData>(string sagaName, TData input, TimeSpan timeout, SagaStartOptions? options = null,
        CancellationToken cancellationToken = default) where TData : class
    {
        var id = await ExecuteAsync(sagaName, input, options, cancellationToken);
        return await WaitForCompletionAsync(id, timeout, cancellationToken);
    }

    /// <summary>The saga's recorded status; null when no saga with this id was started.</summary>
    public async Task<SagaStatus?> GetStatusAsync(string sagaId, CancellationToken cancellationToken = default)
    {
        ValidateId(sagaId);
        var (region, _) = await EnsureStarted();
        var reply = await region.Ask<SagaStatusReply>(new GetSagaStatus(sagaId), Settings.AskTimeout, cancellationToken);
        return reply.Status;
    }

    /// <summary>Waits until the saga finished (completed, compensated or failed) and returns its status. Survives the
    /// saga moving to another node meanwhile. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>
    /// and <see cref="KeyNotFoundException"/> when no saga with this id was started.</summary>
    public async Task<SagaStatus> WaitForCompletionAsync(string sagaId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ValidateId(sagaId);
        var (region, _) = await EnsureStarted();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) throw new TimeoutException($"Saga {sagaId} did not finish within {timeout}.");
            try
            {
                var wait = remaining < TimeSpan.FromSeconds(30) ? remaining : TimeSpan.FromSeconds(30);
                var reply = await region.Ask<SagaStatusReply>(new AwaitSaga(sagaId), wait, cancellationToken);
                if (reply.Status is null) throw new KeyNotFoundException($"No saga with id '{sagaId}' was started.");
                if (reply.Status.IsFinished) return reply.Status;
            }
            catch (Exception e) when (e is AskTimeoutException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
            {
                // The entity moved or stopped (hand-off) while we waited: ask again until the deadline.
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private static void ValidateId(string sagaId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sagaId);
        if (sagaId.Contains('\0')) throw new ArgumentException("A saga id must not contain a NUL character (U+0000).", nameof(sagaId));
    }

    /// <summary>The typed data of <paramref name="status"/> (as of its last completed step).</summary>
    public TData DataOf<TData>(SagaStatus status) =>
        status.Data.Deserialize<TData>(MessageTypes.For(_system).JsonOptions)
        ?? throw new JsonException($"Saga {status.SagaId}: the data deserialized to null.");
}
