namespace Akka.EventDriven.Projections;

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
