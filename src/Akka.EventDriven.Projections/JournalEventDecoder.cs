using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>Turns stored journal rows into the envelopes handlers see: the event (upcast by the serializer), its
/// metadata, its tags.</summary>
internal static class JournalEventDecoder
{
    public static ProjectionEnvelope Decode(JournalRow row, Akka.Serialization.Serialization serialization)
    {
        object payload;
        EventMetadata metadata;
        try
        {
            var stored = serialization.Deserialize(row.Payload, row.SerializerId, row.Manifest);
            (payload, metadata) = stored is DomainEvent d ? (d.Payload, d.Metadata) : (stored, new EventMetadata(DateTimeOffset.MinValue));
        }
        catch (Exception e)
        {
            // Handed on as a failure of this event, so the recovery strategy (e.g. dead-lettering) can get past it.
            (payload, metadata) = (new UnreadableEvent(row.Manifest, e.GetBaseException().Message), new EventMetadata(DateTimeOffset.MinValue));
        }
        return new ProjectionEnvelope(row.Ordering, row.PersistenceId, row.SequenceNr, row.Manifest, payload, metadata)
        {
            StoredAt = row.StoredAt,
            Tags = row.Tags,
        };
    }

    public static IReadOnlyList<ProjectionEnvelope> Decode(IReadOnlyList<JournalRow> rows, Akka.Serialization.Serialization serialization)
    {
        var events = new ProjectionEnvelope[rows.Count];
        for (var i = 0; i < rows.Count; i++) events[i] = Decode(rows[i], serialization);
        return events;
    }
}
