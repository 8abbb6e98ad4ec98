using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>One journal row of a log, as stored: its sequence number and the serialized payload.</summary>
/// <param name="SequenceNr">The row's sequence number in its persistence id.</param>
/// <param name="Payload">The serialized event.</param>
/// <param name="Manifest">The serializer's manifest.</param>
/// <param name="SerializerId">The id of the serializer that wrote <paramref name="Payload"/>.</param>
public sealed record StoredEvent(long SequenceNr, byte[] Payload, string Manifest, int SerializerId);
