namespace Akka.EventDriven.Storage;

/// <summary>Reads a payload of Akka.Persistence.Sql's snapshot table, for the snapshot loader and the journal's
/// one-read recovery alike.</summary>
internal static class SnapshotPayload
{
    /// <summary>With its serializer id, or for rows written without one (old Akka.Persistence.Sql versions), by the
    /// type its manifest names.</summary>
    public static object Deserialize(Akka.Serialization.Serialization serialization, byte[] payload, int? serializerId,
        string? manifest)
    {
        if (serializerId is { } id) return serialization.Deserialize(payload, id, manifest ?? "");
        var type = Type.GetType(manifest ?? "", throwOnError: true)!;
        return serialization.FindSerializerForType(type).FromBinary(payload, type);
    }
}
