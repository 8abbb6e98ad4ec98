namespace Akka.EventDriven;

/// <summary>The typed outcome of a command sent to an aggregate.</summary>
/// <param name="AggregateId">The aggregate the command was sent to.</param>
/// <param name="Version">The aggregate's version (sequence number of its last event) after the command.</param>
public abstract record CommandResult(string AggregateId, long Version)
{
    /// <summary>True when the command was accepted.</summary>
    public bool IsAccepted => this is CommandAccepted;
}

/// <summary>The command was accepted and its events are durably stored.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Version">The new version, including the events raised.</param>
/// <param name="Events">The events raised by the command (possibly none).</param>
public sealed record CommandAccepted(string AggregateId, long Version, IReadOnlyList<object> Events)
    : CommandResult(AggregateId, Version);

/// <summary>The command was rejected; nothing was persisted.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Version">The unchanged current version.</param>
/// <param name="Reason">Why it was rejected.</param>
public sealed record CommandRejected(string AggregateId, long Version, string Reason)
    : CommandResult(AggregateId, Version)
{
    /// <summary>True when the rejection is an optimistic-concurrency conflict (the expected version did not match).</summary>
    public bool IsConcurrencyConflict { get; init; }
}

/// <summary>Options of one command.</summary>
public sealed record CommandOptions
{
    /// <summary>When set, the command is rejected unless the aggregate is at exactly this version
    /// (0 = not created yet). Default: null, no check.</summary>
    public long? ExpectedVersion { get; init; }

    /// <summary>Correlation id recorded in the metadata of every event the command raises. Default: null.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Causation id (the id of the message that caused this command) recorded with the events. Default: null.</summary>
    public string? CausationId { get; init; }

    /// <summary>Free-form headers recorded with the events (user id, tenant, ...). Default: none.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>How long to wait for the result; default: <c>akka.event-driven.event-sourcing.ask-timeout</c>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The command's idempotency key. The repository resends a command that got no answer (a message dropped
    /// while its aggregate moves to another node) and the aggregate answers a command id it has already stored with
    /// the first result instead of deciding it again; the id is stored with the events. Default: a new id per call.
    /// Give your own (an HTTP <c>Idempotency-Key</c>, a message id) to make your own retries safe as well: within the
    /// aggregate's last <c>idempotency.remembered-commands</c> stored commands, a repeat gets the first result.</summary>
    public string? CommandId { get; init; }
}

/// <summary>Metadata stored with every event.</summary>
/// <param name="Timestamp">When the event was raised (UTC).</param>
/// <param name="CorrelationId">Correlation id of the command that raised it, if any.</param>
/// <param name="CausationId">Causation id of the command that raised it, if any.</param>
/// <param name="Headers">Headers of the command that raised it, if any.</param>
public sealed record EventMetadata(
    DateTimeOffset Timestamp,
    string? CorrelationId = null,
    string? CausationId = null,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>The W3C <c>traceparent</c> of the activity that was current when the command was sent (the HTTP request,
    /// the caller's own activity), so that projections, bus deliveries and saga steps continue its trace; null when
    /// tracing was off. Not written when null, so events stored without tracing look as they always did.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }

    /// <summary>The W3C <c>tracestate</c> that went with <see cref="TraceParent"/>, if any. Not written when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceState { get; init; }

    /// <summary>The id of the command that raised the event (see <see cref="CommandOptions.CommandId"/>): how an
    /// aggregate recovered from storage still knows which commands it has stored. Not written when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? CommandId { get; init; }
}

/// <summary>One entry of an aggregate's audit trail.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="SequenceNr">The event's sequence number (the aggregate version it produced).</param>
/// <param name="TypeName">The stable type name the event was stored under, e.g. <c>investigation.started.v1</c>.</param>
/// <param name="Event">The event, upcast to its current version.</param>
/// <param name="Metadata">Timestamp, correlation and causation ids, headers.</param>
public sealed record EventRecord(string AggregateId, long SequenceNr, string TypeName, object Event, EventMetadata Metadata);

/// <summary>An aggregate's state at a version.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Version">The version (0 when the aggregate has no events).</param>
/// <param name="State">The state.</param>
public sealed record AggregateState<TState>(string AggregateId, long Version, TState State)
{
    /// <summary>How the entity serving this state was recovered (null for state computed from the journal).</summary>
    public RecoveryStats? Recovery { get; init; }
}

/// <summary>How an aggregate entity was last recovered: which snapshot it started from and how many events it replayed.</summary>
/// <param name="SnapshotSequenceNr">Sequence number of the snapshot recovery started from, or null when none was used.</param>
/// <param name="EventsReplayed">Number of events replayed on top of it.</param>
public sealed record RecoveryStats(long? SnapshotSequenceNr, long EventsReplayed);
