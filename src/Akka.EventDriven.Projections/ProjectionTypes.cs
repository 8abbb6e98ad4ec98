using System.Data.Common;

namespace Akka.EventDriven.Projections;

/// <summary>Identifies a projection: its name and, for projections split by key, the key.</summary>
/// <param name="Name">The projection name, e.g. <c>active-investigations</c>.</param>
/// <param name="Key">The key of this instance. Default: <c>all</c>.</param>
public sealed record ProjectionId(string Name, string Key = "all")
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}/{Key}";
}

/// <summary>One event as a projection handler sees it.</summary>
/// <param name="Offset">The journal ordering of the event: the projection's offset once it is handled.</param>
/// <param name="PersistenceId">The stream, e.g. <c>Investigation-inv-1</c>.</param>
/// <param name="SequenceNr">The event's sequence number in its stream.</param>
/// <param name="TypeName">The stable type name it was stored under.</param>
/// <param name="Event">The event (upcast to its current version).</param>
/// <param name="Metadata">Timestamp, correlation and causation ids, headers.</param>
public sealed record ProjectionEnvelope(long Offset, string PersistenceId, long SequenceNr, string TypeName, object Event,
    EventMetadata Metadata)
{
    /// <summary>When the journal row was written (the database's clock on PostgreSQL, the writer's on SQLite); the
    /// event's own <see cref="EventMetadata.Timestamp"/> is when the aggregate raised it, before the durable write.</summary>
    public DateTimeOffset StoredAt { get; init; }

    /// <summary>The event's tags (the aggregate name plus <c>Aggregate.Tags</c>); filled only when the projection's
    /// settings ask for them (<see cref="ProjectionSettings.IncludeTags"/>), empty otherwise.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}

/// <summary>
/// An exactly-once handler: it writes its read model through <paramref name="transaction"/> (on the event store's
/// database); the projection commits those writes and the new offset together, so after a crash at any point each
/// event's effect is there exactly once.
/// </summary>
public delegate Task ExactlyOnceHandler(IReadOnlyList<ProjectionEnvelope> batch, DbTransaction transaction,
    CancellationToken cancellationToken);

/// <summary>An event a projection could not deserialize (its type is unknown to this node, say). It reaches no handler:
/// the projection treats it as a failing event, so the recovery strategy decides (dead-letter it, or stop).</summary>
/// <param name="TypeName">The stored type name.</param>
/// <param name="Error">Why it could not be read.</param>
public sealed record UnreadableEvent(string TypeName, string Error);

/// <summary>Settings of a projection.</summary>
/// <param name="BatchSize">Most journal rows read per transaction. Default 500.</param>
/// <param name="PollInterval">Wait between polls once caught up. Default 100 ms.</param>
/// <param name="GapTimeout">SQLite: how long a hole in the journal ordering (a transaction that took an ordering but
/// has not committed yet) is waited for before it is treated as a rolled-back write. Default 10 s. Not used on
/// PostgreSQL, where a hole is waited for exactly as long as a transaction that could still fill it is in flight,
/// however long its commit takes.</param>
/// <param name="Tag">Only events with this tag reach the handler (e.g. an aggregate name); null = all events.</param>
/// <param name="MaxBackoff">Longest wait between retries after a handler failure. Default 5 s.</param>
/// <param name="Recovery">What to do when the handler keeps failing on an event. Default: retry for ever.</param>
/// <param name="GroupWithin">Grouped mode: how long a group may wait to fill up to <paramref name="BatchSize"/>. Default 0.</param>
/// <param name="StartFromEnd">A projection with no stored offset starts after the events already in the journal
/// instead of at the beginning. Default false.</param>
/// <param name="IncludeTags">Read each event's tags into <see cref="ProjectionEnvelope.Tags"/> (one more subquery per
/// row). Default false.</param>
/// <param name="ClearReadModel">How to clear the read model when an operator asks for a rebuild without code (the
/// HTTP API, the console): <see cref="Projection.RebuildAsync(CancellationToken)"/> uses it. Default null: such a
/// rebuild is refused.</param>
public sealed record ProjectionSettings(
    int BatchSize = 500,
    TimeSpan? PollInterval = null,
    TimeSpan? GapTimeout = null,
    string? Tag = null,
    TimeSpan? MaxBackoff = null,
    RecoveryStrategy? Recovery = null,
    TimeSpan? GroupWithin = null,
    bool StartFromEnd = false,
    bool IncludeTags = false,
    RebuildHook? ClearReadModel = null)
{
    internal TimeSpan Within => GroupWithin ?? TimeSpan.Zero;
    internal TimeSpan Poll => PollInterval ?? TimeSpan.FromMilliseconds(100);
    internal TimeSpan Gap => GapTimeout ?? TimeSpan.FromSeconds(10);
    internal TimeSpan Backoff => MaxBackoff ?? TimeSpan.FromSeconds(5);
}
