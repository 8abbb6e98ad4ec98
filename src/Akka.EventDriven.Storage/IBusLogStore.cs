using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>The bus's logs, which are persistence ids in the event journal.</summary>
public interface IBusLogStore
{
    /// <summary>Rows of <paramref name="persistenceId"/> after <paramref name="after"/>, in order, at most
    /// <paramref name="limit"/>; deleted rows are left out.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadLogAsync(string persistenceId, long after, int limit, CancellationToken ct = default);

    /// <summary>The highest sequence number of <paramref name="persistenceId"/> (0 when empty, or when the journal has
    /// no table yet).</summary>
    Task<long> HeadAsync(string persistenceId, CancellationToken ct = default);

    /// <summary>In one transaction, deletes the oldest rows of <paramref name="persistenceId"/>: those older than
    /// <paramref name="maxAge"/> (on the clock the rows were stamped with) or beyond the newest
    /// <paramref name="maxMessages"/>, but none after the slowest consumer's offset (the offsets whose id starts with
    /// <paramref name="consumerPrefix"/>, other than <paramref name="retentionMarker"/>) and never the newest row. The
    /// cut is recorded as the offset <paramref name="retentionMarker"/>. Returns the floor: how far rows are deleted
    /// (0 when none ever were).</summary>
    Task<long> ApplyRetentionAsync(string persistenceId, string consumerPrefix, string retentionMarker, TimeSpan? maxAge,
        long? maxMessages, CancellationToken ct = default);
}
