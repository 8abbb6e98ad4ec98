namespace Akka.EventDriven.Storage;

/// <summary>One journal row as stored: the serialized event and where it sits.</summary>
/// <param name="Ordering">The row's ordering: the journal-wide position, an offset to resume after.</param>
/// <param name="PersistenceId">The stream, e.g. <c>Investigation-inv-1</c>.</param>
/// <param name="SequenceNr">The event's sequence number in its stream.</param>
/// <param name="Payload">The serialized event.</param>
/// <param name="Manifest">The serializer's manifest (the stable type name for Akka.EventDriven's serializer).</param>
/// <param name="SerializerId">The Akka serializer that wrote <paramref name="Payload"/>.</param>
/// <param name="StoredAt">When the row was written (the database's clock on PostgreSQL, the writer's on SQLite).</param>
/// <param name="Tags">The row's tags when <see cref="JournalReadOptions.IncludeTags"/> is set, else empty.</param>
public sealed record JournalRow(long Ordering, string PersistenceId, long SequenceNr, byte[] Payload, string Manifest,
    int SerializerId, DateTimeOffset StoredAt, IReadOnlyList<string> Tags);
