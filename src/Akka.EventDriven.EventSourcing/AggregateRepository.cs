using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.EventSourcing;

/// <summary>
/// The gateway to one aggregate type: send a command to an aggregate id from
/// any node and get a typed <see cref="CommandResult"/> back; read its state, its audit trail and its state as of a
/// version. Thread-safe.
/// </summary>
/// <typeparam name="TState">The aggregate's state.</typeparam>
public sealed class AggregateRepository<TState> : IAggregateRepository where TState : notnull
{
    /// <summary>Longest accepted aggregate id.</summary>
    public const int MaxIdLength = 255;

    private readonly ActorSystem _system;
    private readonly IActorRef _region;
    private readonly Aggregate<TState> _aggregate;
    private readonly MessageTypeRegistry _registry;
    private readonly Lazy<SqlReadJournal> _readJournal;

    internal AggregateRepository(ActorSystem system, IActorRef region, Aggregate<TState> aggregate, AggregateSettings settings)
    {
        _system = system;
        _region = region;
        _aggregate = aggregate;
        Settings = settings;
        _registry = MessageTypes.For(system);
        _readJournal = new(() => PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier));
    }

    /// <summary>The aggregate type name.</summary>
    public string AggregateName => _aggregate.Name;

    /// <summary>The settings the aggregate type runs with.</summary>
    public AggregateSettings Settings { get; }

    /// <summary>The sharding region (send <see cref="AggregateCommand"/>s to it directly for fire-and-forget use).</summary>
    public IActorRef Region => _region;

    /// <summary>Sends <paramref name="command"/> to aggregate <paramref name="aggregateId"/> and waits until its events
    /// are durably stored (accepted) or it is rejected. Throws <see cref="AggregateFailedException"/> when it could not be
    /// processed, <see cref="TimeoutException"/> when no answer came in time.</summary>
    public async Task<CommandResult> SendAsync(string aggregateId, object command, CommandOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ValidateId(aggregateId);
        ArgumentNullException.ThrowIfNull(command);
        if (!_registry.IsRegistered(command.GetType()))
            throw new UnregisteredMessageTypeException(command.GetType());
        if (options?.ExpectedVersion is < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.ExpectedVersion, "ExpectedVersion must be 0 or more.");
        if (options is not null) ValidateOptions(options);

        // The activity (when something listens) or else the caller's own is the trace the events continue.
        using var activity = EventSourcingTracing.Source.HasListeners()
            ? EventDrivenTracing.StartFrom(EventSourcingTracing.Source, $"{AggregateName} {command.GetType().Name}", ActivityKind.Client, null)
            : null;
        if (activity is not null)
        {
            activity.SetTag("event_driven.aggregate", AggregateName);
            activity.SetTag("event_driven.aggregate_id", aggregateId);
            activity.SetTag("event_driven.command", _registry.NameOf(command.GetType()).Manifest);
        }
        var traceParent = EventDrivenTracing.CaptureCurrent(out var traceState);
        var message = new AggregateCommand(aggregateId, command, options?.ExpectedVersion,
            options?.CorrelationId, options?.CausationId, options?.Headers)
        {
            TraceParent = traceParent, TraceState = traceState,
            CommandId = Settings.Idempotent ? options?.CommandId ?? Guid.NewGuid().ToString("N") : options?.CommandId,
        };
        try
        {
            var reply = await Ask(aggregateId, message, options?.Timeout, command.GetType().Name, cancellationToken);
            var result = reply switch
            {
                CommandResult r => r,
                CommandFailed { Overloaded: true } f => throw new AggregateOverloadedException(AggregateName, aggregateId, f.Reason),
                CommandFailed f => throw new AggregateFailedException(AggregateName, aggregateId, f.Reason),
                _ => throw new InvalidOperationException($"Unexpected reply {reply.GetType()}"),
            };
            if (activity is not null)
            {
                activity.SetTag("event_driven.version", result.Version);
                if (result is CommandRejected rejected) activity.SetStatus(ActivityStatusCode.Error, rejected.Reason);
            }
            return result;
        }
        catch (Exception e)
        {
            EventDrivenTracing.Fail(activity, e);
            throw;
        }
    }

    /// <summary>The current durably stored state and version of aggregate <paramref name="aggregateId"/>.</summary>
    public async Task<AggregateState<TState>> GetStateAsync(string aggregateId, CancellationToken cancellationToken = default)
    {
        ValidateId(aggregateId);
        var reply = await Ask(aggregateId, new GetAggregateState(aggregateId), null, "GetState", cancellationToken);
        return reply switch
        {
            AggregateStateReply s => new AggregateState<TState>(aggregateId, s.Version, (TState)s.State) { Recovery = s.Recovery },
            CommandFailed f => throw new AggregateFailedException(AggregateName, aggregateId, f.Reason),
            _ => throw new InvalidOperationException($"Unexpected reply {reply.GetType()}"),
        };
    }

    /// <summary>The audit trail: every stored event of the aggregate in order, with sequence number, type name and
    /// metadata. Events removed by snapshot retention (<c>delete-events-on-snapshot</c>) are not included.</summary>
    public async Task<IReadOnlyList<EventRecord>> GetHistoryAsync(string aggregateId, long fromSequenceNr = 1,
        long toSequenceNr = long.MaxValue, CancellationToken cancellationToken = default)
    {
        ValidateId(aggregateId);
        var events = await _readJournal.Value
            .CurrentEventsByPersistenceId(PersistenceIds.For(AggregateName, aggregateId), fromSequenceNr, toSequenceNr)
            .RunWith(Sink.Seq<EventEnvelope>(), _system.Materializer()).WaitAsync(cancellationToken);
        return events.Select(e => ToRecord(aggregateId, e)).ToArray();
    }

    /// <summary>The state of the aggregate as of <paramref name="version"/>, rebuilt from the newest snapshot at or
    /// before it plus the events after that snapshot.</summary>
    public async Task<AggregateState<TState>> GetStateAtAsync(string aggregateId, long version,
        CancellationToken cancellationToken = default)
    {
        ValidateId(aggregateId);
        if (version < 0) throw new ArgumentOutOfRangeException(nameof(version), version, "Versions start at 0.");
        var state = _aggregate.InitialState;
        if (version == 0) return new AggregateState<TState>(aggregateId, 0, state);

        var persistenceId = PersistenceIds.For(AggregateName, aggregateId);
        var snapshotStore = Persistence.Persistence.Instance.Apply(_system).SnapshotStoreFor(null);
        var loaded = await snapshotStore.Ask<object>(
            new LoadSnapshot(persistenceId, new SnapshotSelectionCriteria(version), version), Settings.AskTimeout, cancellationToken);
        var next = 1L;
        switch (loaded)
        {
            case LoadSnapshotResult { Snapshot: { Snapshot: AggregateSnapshot snap } selected }:
                state = (TState)snap.State;
                next = selected.Metadata.SequenceNr + 1;
                break;
            case LoadSnapshotFailed failed:
                throw new AggregateFailedException(AggregateName, aggregateId, $"Loading a snapshot failed: {failed.Cause.Message}");
        }

        var history = next > version ? [] : await GetHistoryAsync(aggregateId, next, version, cancellationToken);
        foreach (var record in history)
        {
            if (record.SequenceNr != next)
                throw new InvalidOperationException(
                    $"Events {next}..{record.SequenceNr - 1} of '{persistenceId}' are no longer stored (snapshot retention), so its state as of version {version} cannot be rebuilt.");
            state = _aggregate.Apply(state, record.Event);
            next++;
        }
        if (next - 1 < version)
        {
            // Nothing (more) up to the version: either it was deleted by retention or the aggregate is not that far yet.
            var later = await _readJournal.Value.CurrentEventsByPersistenceId(persistenceId, next, long.MaxValue)
                .Take(1).RunWith(Sink.FirstOrDefault<EventEnvelope>(), _system.Materializer()).WaitAsync(cancellationToken);
            if (later is not null)
                throw new InvalidOperationException(
                    $"Events {next}..{later.SequenceNr - 1} of '{persistenceId}' are no longer stored (snapshot retention), so its state as of version {version} cannot be rebuilt.");
            throw new ArgumentOutOfRangeException(nameof(version), version,
                $"Aggregate '{persistenceId}' has no version {version}; its newest stored version is {next - 1}.");
        }
        return new AggregateState<TState>(aggregateId, version, state);
    }

    /// <inheritdoc />
    public async Task<AggregateState<object>> GetStateObjectAsync(string aggregateId, CancellationToken cancellationToken = default)
    {
        var s = await GetStateAsync(aggregateId, cancellationToken);
        return new AggregateState<object>(s.AggregateId, s.Version, s.State) { Recovery = s.Recovery };
    }

    /// <inheritdoc />
    public async Task<AggregateState<object>> GetStateObjectAtAsync(string aggregateId, long version,
        CancellationToken cancellationToken = default)
    {
        var s = await GetStateAtAsync(aggregateId, version, cancellationToken);
        return new AggregateState<object>(s.AggregateId, s.Version, s.State);
    }

    /// <summary>Asks the region, and asks again (the same message) after <see cref="AggregateSettings.ResendAfter"/>,
    /// twice as long, and so on, while no answer came: sharding drops what arrives while the entity is handed off to
    /// another node. The first answer wins. Only commands with an id (or queries) are resent: the id makes it safe.</summary>
    private async Task<object> Ask(string aggregateId, object message, TimeSpan? timeout, string what, CancellationToken ct)
    {
        var t = timeout ?? Settings.AskTimeout;
        var resendable = message is GetAggregateState || (Settings.Idempotent && message is AggregateCommand { CommandId: not null });
        try
        {
            if (!resendable || Settings.ResendAfter is not { } every || every >= t) return await _region.Ask<object>(message, t, ct);
            // The common case costs one ask and one timed wait: the answer comes before the first resend is due.
            var started = Stopwatch.GetTimestamp();
            var firstAsk = _region.Ask<object>(message, t, ct);
            try
            {
                return await firstAsk.WaitAsync(every, ct);
            }
            catch (TimeoutException)
            {
                ct.ThrowIfCancellationRequested(); // cancelled as the wait ran out: the caller's cancellation, not a timeout
                if (firstAsk.IsCompleted) return await firstAsk; // answered in the same instant
            }
            // No answer yet (an entity being handed off drops what arrives meanwhile): resend, twice as late each time.
            // The first ask runs on until its own timeout (it was not given the token below, which keeps the common
            // case free of a token source); it is observed, so that its timeout is no unobserved exception.
            _ = firstAsk.ContinueWith(static a => _ = a.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var asks = new List<Task<object>>(3) { firstAsk };
            try
            {
                while (true)
                {
                    var left = t - Stopwatch.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero) return await await Task.WhenAny(asks); // an answer in the last instant, or the timeout
                    asks.Add(_region.Ask<object>(message, left, done.Token));
                    EventSourcingMetrics.Resent(AggregateName);
                    every += every;
                    left = t - Stopwatch.GetElapsedTime(started);
                    var pause = every < left ? every : left;
                    var delay = pause > TimeSpan.Zero ? Task.Delay(pause, done.Token) : Task.CompletedTask;
                    var first = await Task.WhenAny(asks.Append(delay));
                    if (first != delay) return await (Task<object>)first; // the answer, or the timeout / cancellation
                    ct.ThrowIfCancellationRequested();
                }
            }
            finally
            {
                await done.CancelAsync(); // the resent asks end here (their temporary actors stop)
                foreach (var ask in asks) _ = ask.Exception; // observed: a cancelled or timed-out ask is not an error
            }
        }
        catch (AskTimeoutException)
        {
            throw new TimeoutException($"{what} to aggregate '{AggregateName}' id '{aggregateId}' got no answer within {t.TotalSeconds:0.###} s.");
        }
    }

    private static EventRecord ToRecord(string aggregateId, EventEnvelope e)
    {
        var domainEvent = (DomainEvent)e.Event;
        return new EventRecord(aggregateId, e.SequenceNr, domainEvent.StoredTypeName ?? "", domainEvent.Payload, domainEvent.Metadata);
    }

    /// <summary>Longest accepted correlation id, causation id, header name or header value.</summary>
    public const int MaxMetadataLength = 1024;

    // Metadata is stored with every event and copied into bus envelopes, indexes and traces: a control character
    // (PostgreSQL text rejects NUL) or a huge value would fail writes far from the call that caused it.
    private static void ValidateOptions(CommandOptions options)
    {
        static void Check(string? value, string what)
        {
            if (value is null) return;
            if (value.Length > MaxMetadataLength)
                throw new ArgumentException($"{what} must be at most {MaxMetadataLength} characters, was {value.Length}.", nameof(options));
            if (value.Any(char.IsControl))
                throw new ArgumentException($"{what} must not contain control characters (such as NUL).", nameof(options));
        }
        Check(options.CorrelationId, "CorrelationId");
        Check(options.CausationId, "CausationId");
        Check(options.CommandId, "CommandId");
        if (options.CommandId is "") throw new ArgumentException("CommandId must not be empty (null gives a new one).", nameof(options));
        if (options.Headers is null) return;
        foreach (var (name, value) in options.Headers)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("A header name must not be empty.", nameof(options));
            Check(name, $"Header name '{name}'");
            Check(value, $"Header '{name}'");
        }
    }

    private static void ValidateId(string aggregateId)
    {
        if (string.IsNullOrWhiteSpace(aggregateId))
            throw new ArgumentException("An aggregate id must not be empty or whitespace.", nameof(aggregateId));
        if (aggregateId.Length > MaxIdLength)
            throw new ArgumentException($"An aggregate id must be at most {MaxIdLength} characters, was {aggregateId.Length}.", nameof(aggregateId));
        if (aggregateId.Any(char.IsControl))
            throw new ArgumentException("An aggregate id must not contain control characters.", nameof(aggregateId));
    }
}
