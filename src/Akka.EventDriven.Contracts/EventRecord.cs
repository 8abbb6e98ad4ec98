namespace Akka.EventDriven;

/// <summary>One entry of an aggregate's audit trail.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="SequenceNr">The event's sequence number (the aggregate version it produced).</param>
/// <param name="TypeName">The stable type name the event was stored under, e.g. <c>investigation.started.v1</c>.</param>
/// <param name="Event">The event, upcast to its current version.</param>
/// <param name="Metadata">Timestamp, correlation and causation ids, headers.</param>
public sealed record EventRecord(string AggregateId, long SequenceNr, string TypeName, object Event, EventMetadata Metadata);
