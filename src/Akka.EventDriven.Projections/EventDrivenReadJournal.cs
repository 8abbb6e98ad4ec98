using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Configuration;
using Akka.EventDriven.Storage;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Projections;

/// <summary>
/// An Akka.Persistence.Query read journal over the gap-safe journal reader that projections use: an event a concurrent
/// writer commits after a later one is handed out in ordering order, never skipped. Offsets are
/// <see cref="Sequence"/> values, the journal's ordering, exclusive (a query returns the events after it);
/// <see cref="NoOffset"/> starts at the beginning. Events are the aggregates' events (the stored wrapper removed),
/// with their tags and the time the row was written.
/// </summary>
/// <example><code>
/// var journal = PersistenceQuery.Get(system).ReadJournalFor&lt;EventDrivenReadJournal&gt;(EventDrivenReadJournal.Identifier);
/// await journal.CurrentEventsByTag("Investigation", Offset.NoOffset()).RunForeach(e => Console.WriteLine(e.Event), system);
/// </code></example>
public sealed class EventDrivenReadJournal : IReadJournal, IEventsByTagQuery, ICurrentEventsByTagQuery, IAllEventsQuery, ICurrentAllEventsQuery
{
    /// <summary>The read journal's configuration path, to pass to <c>ReadJournalFor</c>.</summary>
    public const string Identifier = "akka.persistence.query.journal.event-driven";

    private readonly ActorSystem _system;
    private readonly StoreSettings _store;
    private readonly TimeSpan _refresh;
    private readonly int _batchSize;
    private readonly TimeSpan _gap;

    /// <summary>A read journal on <paramref name="system"/>'s store; <paramref name="config"/> is its section (see the
    /// module's reference.conf).</summary>
    public EventDrivenReadJournal(ActorSystem system, Config config)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(config);
        var settings = ProjectionsSettings.FromSection(config);
        _system = system;
        _store = StoreSettings.FromConfig(system.Settings.Config).Validate();
        _refresh = settings.RefreshInterval;
        _batchSize = settings.BatchSize;
        _gap = settings.GapTimeout;
    }

    /// <summary>The read journal of <paramref name="system"/>, configured from <c>akka.persistence.query.journal.event-driven</c>
    /// when the system has that section, else from the module's defaults (no need to go through PersistenceQuery).</summary>
    public static EventDrivenReadJournal For(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        return system.Settings.Config.HasPath(Identifier)
            ? PersistenceQuery.Get(system).ReadJournalFor<EventDrivenReadJournal>(Identifier)
            : new EventDrivenReadJournal(system, ConfigurationFactory.Empty);
    }

    /// <summary>The events tagged <paramref name="tag"/> after <paramref name="offset"/>, then live (polled every
    /// refresh-interval once caught up).</summary>
    public Source<EventEnvelope, NotUsed> EventsByTag(string tag, Offset offset) =>
        Query(RequireTag(tag), offset, live: true);

    /// <summary>The events tagged <paramref name="tag"/> after <paramref name="offset"/> that were written when the query
    /// started (including those still committing then); completes once they are read.</summary>
    public Source<EventEnvelope, NotUsed> CurrentEventsByTag(string tag, Offset offset) =>
        Query(RequireTag(tag), offset, live: false);

    /// <summary>Every event after <paramref name="offset"/>, then live.</summary>
    public Source<EventEnvelope, NotUsed> AllEvents(Offset offset) => Query(null, offset, live: true);

    /// <summary>Every event after <paramref name="offset"/> written when the query started; completes once they are read.</summary>
    public Source<EventEnvelope, NotUsed> CurrentAllEvents(Offset offset) => Query(null, offset, live: false);

    /// <summary>
    /// The events tagged <paramref name="tag"/> (null: all) after ordering <paramref name="afterOffset"/> as projection
    /// envelopes (with their metadata: correlation and causation ids, headers, the time the aggregate raised them),
    /// live or up to what was written when the query started. Rows are read <paramref name="batchSize"/> at a time
    /// (default: the configured batch-size), only as fast as downstream pulls; each materialization starts again
    /// from <paramref name="afterOffset"/>. <paramref name="includeTags"/> fills <see cref="ProjectionEnvelope.Tags"/>
    /// (one more subquery per row; the Akka.Persistence.Query queries always do, for <c>EventEnvelope.Tags</c>).
    /// </summary>
    public Source<ProjectionEnvelope, NotUsed> Envelopes(string? tag, long afterOffset, bool live = true, TimeSpan? pollInterval = null,
        int? batchSize = null, bool includeTags = false)
    {
        if (tag is not null) RequireTag(tag);
        ArgumentOutOfRangeException.ThrowIfNegative(afterOffset);
        if (batchSize is < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batchSize must be at least 1.");
        if (pollInterval is { } p && p <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(pollInterval), "pollInterval must be positive.");
        var poll = pollInterval ?? _refresh;
        var size = batchSize ?? _batchSize;
        return Source.From(() => ReadAsync(tag, afterOffset, live, poll, size, includeTags, CancellationToken.None));
    }

    private Source<EventEnvelope, NotUsed> Query(string? tag, Offset offset, bool live) =>
        Envelopes(tag, ToOrdering(offset), live, includeTags: true).Select(e => new EventEnvelope(new Sequence(e.Offset), e.PersistenceId, e.SequenceNr,
            e.Event, e.StoredAt.ToUnixTimeMilliseconds(), e.Tags as string[] ?? e.Tags.ToArray()));

    private async IAsyncEnumerable<ProjectionEnvelope> ReadAsync(string? tag, long offset, bool live, TimeSpan poll, int batchSize, bool includeTags,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = new JournalReader(_store, new JournalReadOptions(tag, includeTags, _gap));
        await reader.EnsureJournalTablesAsync(ct).ConfigureAwait(false);
        var target = live ? long.MaxValue : await reader.MaxOrderingAsync(ct).ConfigureAwait(false);
        while (!ct.IsCancellationRequested && offset < target)
        {
            var before = offset;
            JournalBatch batch;
            // A connection per read, back to the pool before the wait: a live query holds none while it sleeps.
            await using (var connection = await reader.OpenAsync(ct).ConfigureAwait(false))
                batch = await reader.ReadAsync(connection, null, offset, batchSize, ct).ConfigureAwait(false);
            offset = batch.NextOffset;
            foreach (var row in batch.Rows)
            {
                if (row.Ordering > target) yield break;
                yield return JournalEventDecoder.Decode(row, _system.Serialization);
            }
            // A current query with no row at all after its offset is done (the rows up to its target were deleted).
            if (!live && (batch.RowsRead == 0 || offset >= target)) yield break;
            // Nothing new, or stopped before a hole that may still fill: wait before reading again.
            if (batch.RowsRead == 0 || (batch.Rows.Count == 0 && (batch.RowsRead < batchSize || offset == before)))
                await Task.Delay(poll, ct).ConfigureAwait(false);
        }
    }

    private static long ToOrdering(Offset offset) => offset switch
    {
        null or NoOffset => 0,
        Sequence s when s.Value >= 0 => s.Value,
        Sequence s => throw new ArgumentException($"A Sequence offset is a journal ordering, 0 or more; got {s.Value}.", nameof(offset)),
        _ => throw new ArgumentException($"{Identifier} takes Sequence offsets (the journal's ordering) or NoOffset, not {offset.GetType().Name}.",
            nameof(offset)),
    };

    private static string RequireTag(string tag)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        return tag;
    }
}
