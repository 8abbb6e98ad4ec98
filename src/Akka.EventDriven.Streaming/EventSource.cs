using Akka.Actor;
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
    /// envelope's <see cref="ProjectionEnvelope.Offset"/> is where to resume. The same read as
    /// <see cref="EventDrivenReadJournal.Envelopes"/> (the Akka.Persistence.Query read journal of Akka.EventDriven).
    /// </summary>
    public static Source<ProjectionEnvelope, NotUsed> ByTag(ActorSystem system, string tag, long fromOffset = 0,
        TimeSpan? pollInterval = null, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        return EventDrivenReadJournal.For(system).Envelopes(tag, fromOffset, live: true, pollInterval ?? TimeSpan.FromMilliseconds(250), batchSize);
    }
}
