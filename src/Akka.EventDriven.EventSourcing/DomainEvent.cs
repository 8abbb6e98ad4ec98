namespace Akka.EventDriven.EventSourcing;

/// <summary>What is stored in the journal for each event: the event and its metadata. Stored under the
/// event's stable type name as manifest.</summary>
/// <param name="Payload">The domain event.</param>
/// <param name="Metadata">Timestamp, correlation and causation ids, headers.</param>
/// <param name="StoredTypeName">The type name it was read under (null when not read from storage).</param>
public sealed record DomainEvent(object Payload, EventMetadata Metadata, string? StoredTypeName = null) : IEventDrivenMessage;
