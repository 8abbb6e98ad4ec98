namespace Akka.EventDriven.Projections;

/// <summary>One event as a projection handler sees it.</summary>
/// <param name="Offset">The journal ordering of the event: the projection's offset once it is handled.</param>
/// <param name="PersistenceId">The stream, e.g. <c>Investigation-inv-1</c>.</param>
/// <param name="SequenceNr">The event's sequence number in its stream.</param>
/// <param name="TypeName">The stable type name it was stored under.</param>
/// <param name="Event">The event (upcast to its current version).</param>
/// <param name="Metadata">Timestamp, correlation and causation ids, headers.</param>
public sealed record ProjectionEnvelope(long Offset, string PersistenceId, long SequenceNr, string TypeName, object Event,
    EventMetadata Metadata)
{
    /// <summary>When the journal row was written (the database's clock on PostgreSQL, the writer's on SQLite); the
    /// event's own <see cref="EventMetadata.Timestamp"/> is when the aggregate raised it, before the durable write.</summary>
    public DateTimeOffset StoredAt { get; init; }

    /// <summary>The event's tags (the aggregate name plus <c>Aggregate.Tags</c>); filled only when the projection's
    /// settings ask for them (<see cref="ProjectionSettings.IncludeTags"/>), empty otherwise.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}
