using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>Consumer offsets: how far each consumer of a log has read. Offsets only move forward.</summary>
public interface IOffsetStore
{
    /// <summary>The stored offset of <paramref name="consumerId"/> (0 when none).</summary>
    Task<long> LoadOffsetAsync(string consumerId, CancellationToken ct = default);

    /// <summary>Stores <paramref name="sequenceNr"/> for <paramref name="consumerId"/> unless a higher one is stored.</summary>
    Task SaveOffsetAsync(string consumerId, long sequenceNr, CancellationToken ct = default);

    /// <summary>Makes <paramref name="consumerId"/> known before it reads: unless it has an offset already, it gets one
    /// at the log's retention floor (the offset of <paramref name="retentionMarker"/>, 0 when nothing was deleted), under
    /// the lock retention takes, so retention never deletes a row that a registered consumer has not acknowledged.
    /// Returns the consumer's offset.</summary>
    Task<long> RegisterConsumerAsync(string consumerId, string retentionMarker, CancellationToken ct = default);
}
