namespace Akka.EventDriven.Storage;

/// <summary>A journal event found through the console's correlation index (a trace's event rows): the stored values,
/// not yet deserialized.</summary>
/// <param name="Ordering">The event's global journal ordering.</param>
/// <param name="PersistenceId">The persistence id of the aggregate (or saga, <c>saga:</c> prefix) that wrote it.</param>
/// <param name="SequenceNr">Its sequence number within that persistence id.</param>
/// <param name="Payload">The serialized event.</param>
/// <param name="Manifest">The serializer's manifest ("" when the row has none).</param>
/// <param name="SerializerId">The id of the serializer that wrote <paramref name="Payload"/>.</param>
/// <param name="StoredTicks">When the row was stored (UTC ticks).</param>
public sealed record ConsoleEventRow(long Ordering, string PersistenceId, long SequenceNr, byte[] Payload, string Manifest,
    int SerializerId, long StoredTicks);
