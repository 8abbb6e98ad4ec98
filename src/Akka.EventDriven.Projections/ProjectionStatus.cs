using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>A projection's status and lag.</summary>
/// <param name="Id">The projection.</param>
/// <param name="State">Running, paused, failed, stopped.</param>
/// <param name="Offset">Last committed offset.</param>
/// <param name="JournalOffset">Highest ordering in the journal.</param>
/// <param name="EventsBehind">Journal rows after the offset.</param>
/// <param name="SecondsBehind">Age of the oldest unprocessed row (0 when caught up).</param>
/// <param name="DeadLetters">Events this projection skipped into <c>projection_dead_letters</c> since it started.</param>
/// <param name="LastError">The last handler failure, if any.</param>
/// <param name="SkippedHoles">Holes in the journal ordering this projection gave up on since it started (a write that
/// rolled back, a deleted event; on SQLite also one older than the gap timeout). Each is logged and counted in the
/// <c>akka.event_driven.projection.skipped_holes</c> metric.</param>
/// <param name="LastSkippedHole">The first ordering of the last hole given up on, if any.</param>
/// <param name="RebuildTarget">While a rebuild replays the journal: the ordering it must reach (the journal's newest
/// when the rebuild started), so <c>Offset / RebuildTarget</c> is the progress; null otherwise. Set even while such a
/// rebuild is paused.</param>
public sealed record ProjectionStatus(ProjectionId Id, ProjectionState State, long Offset, long JournalOffset,
    long EventsBehind, double SecondsBehind, long DeadLetters, string? LastError, long SkippedHoles = 0, long? LastSkippedHole = null,
    long? RebuildTarget = null)
{
    /// <summary>How far a rebuild has got, 0 to 100 (whole per cent, rounded down); null when not rebuilding.</summary>
    public int? RebuildPercent => RebuildTarget is { } target && target > 0 ? (int)Math.Min(100, 100 * Math.Max(0, Offset) / target) : null;
}
