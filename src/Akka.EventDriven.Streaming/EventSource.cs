using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>Sources over the event journal, for pipelines that start from stored events.</summary>
public static class EventSource
{
    /// <summary>
    /// The events tagged <paramref name="tag"/> (aggregate events carry their aggregate's name as a tag), in journal
    /// order from after <paramref name="fromOffset"/>, then live: the journal is polled every
    /// <paramref name="pollInterval"/> (default 250 ms) when there is nothing new. Reads the way projections do (gap
    /// safe: an event a concurrent writer commits late is not skipped), <paramref name="batchSize"/> rows per query,
    /// only as fast as downstream pulls. Each materialization starts again from <paramref name="fromOffset"/>; the
    /// envelope's <see cref="ProjectionEnvelope.Offset"/> is where to resume.
    /// </summary>
    public static Source<ProjectionEnvelope, NotUsed> ByTag(ActorSystem system, string tag, long fromOffset = 0,
        TimeSpan? pollInterval = null, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        var poll = pollInterval ?? TimeSpan.FromMilliseconds(250);
        return Source.From(() => ReadAsync(system, tag, fromOffset, poll, batchSize, CancellationToken.None));
    }

    private static async IAsyncEnumerable<ProjectionEnvelope> ReadAsync(ActorSystem system, string tag, long offset, TimeSpan poll,
        int batchSize, [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = new JournalReader(StoreSettings.FromConfig(system.Settings.Config), new ProjectionSettings(Tag: tag), system.Serialization);
        await reader.EnsureJournalTablesAsync(ct).ConfigureAwait(false);
        await using var connection = await reader.OpenAsync(ct).ConfigureAwait(false);
        while (!ct.IsCancellationRequested)
        {
            var (events, next, rows) = await reader.ReadAsync(connection, null, offset, batchSize, ct).ConfigureAwait(false);
            offset = next;
            foreach (var e in events) yield return e;
            if (rows == 0 || (events.Count == 0 && rows < batchSize)) await Task.Delay(poll, ct).ConfigureAwait(false);
        }
    }
}
