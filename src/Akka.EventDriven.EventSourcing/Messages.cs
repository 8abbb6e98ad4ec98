namespace Akka.EventDriven.EventSourcing;

/// <summary>Marker of the messages this module serializes with its own JSON serializer.</summary>
public interface IEventDrivenMessage;

/// <summary>What is stored in the journal for each event: the event and its metadata. Stored under the
/// event's stable type name as manifest.</summary>
/// <param name="Payload">The domain event.</param>
/// <param name="Metadata">Timestamp, correlation and causation ids, headers.</param>
/// <param name="StoredTypeName">The type name it was read under (null when not read from storage).</param>
public sealed record DomainEvent(object Payload, EventMetadata Metadata, string? StoredTypeName = null) : IEventDrivenMessage;

/// <summary>A command routed to the aggregate <paramref name="AggregateId"/> through sharding.</summary>
/// <param name="AggregateId">The entity id.</param>
/// <param name="Command">The command, a registered message type.</param>
/// <param name="ExpectedVersion">Optional optimistic-concurrency check.</param>
/// <param name="CorrelationId">Recorded with the raised events.</param>
/// <param name="CausationId">Recorded with the raised events.</param>
/// <param name="Headers">Recorded with the raised events.</param>
public sealed record AggregateCommand(
    string AggregateId,
    object Command,
    long? ExpectedVersion = null,
    string? CorrelationId = null,
    string? CausationId = null,
    IReadOnlyDictionary<string, string>? Headers = null) : IEventDrivenMessage
{
    /// <summary>The sender's W3C trace context (<c>traceparent</c>), recorded with the raised events; null when tracing is off.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The sender's W3C <c>tracestate</c>, if any.</summary>
    public string? TraceState { get; init; }

    /// <summary>The idempotency key (<see cref="CommandOptions.CommandId"/>): a command whose id the aggregate has
    /// stored, or is storing, is answered with that result instead of being decided again. Null: no such check.</summary>
    public string? CommandId { get; init; }
}

/// <summary>Asks an aggregate entity for its current state; answered with <see cref="AggregateStateReply"/>.</summary>
/// <param name="AggregateId">The entity id.</param>
public sealed record GetAggregateState(string AggregateId) : IEventDrivenMessage;

/// <summary>The current, durably stored state of an aggregate.</summary>
/// <param name="AggregateId">The entity id.</param>
/// <param name="Version">Its version.</param>
/// <param name="State">Its state.</param>
/// <param name="Recovery">How the entity was recovered.</param>
public sealed record AggregateStateReply(string AggregateId, long Version, object State, RecoveryStats Recovery) : IEventDrivenMessage;

/// <summary>A command could not be processed because its events could not be stored; the entity restarts.</summary>
/// <param name="AggregateId">The entity id.</param>
/// <param name="Reason">The storage error.</param>
public sealed record CommandFailed(string AggregateId, string Reason) : IEventDrivenMessage
{
    /// <summary>Nothing was tried: the entity already holds <c>max-pending-commands</c> while it recovers. Safe to
    /// retry later (the repository throws <see cref="AggregateOverloadedException"/>).</summary>
    public bool Overloaded { get; init; }
}

/// <summary>A stored snapshot: the state plus the sequence numbers of the older snapshots still kept, so that
/// retention stays exact across restarts.</summary>
/// <param name="State">The aggregate state.</param>
/// <param name="OlderSnapshots">Sequence numbers of the kept snapshots older than this one, oldest first.</param>
public sealed record AggregateSnapshot(object State, IReadOnlyList<long> OlderSnapshots) : IEventDrivenMessage
{
    /// <summary>The newest commands stored within the idempotency window when the snapshot was taken (null: none).</summary>
    public IReadOnlyList<RememberedCommand>? Commands { get; init; }
}

/// <summary>A stored command an aggregate remembers across a snapshot: its id, the version after its events, how many
/// events it raised, and when it was stored (UTC ticks).</summary>
public sealed record RememberedCommand(string Id, long Version, int Events, long At);
