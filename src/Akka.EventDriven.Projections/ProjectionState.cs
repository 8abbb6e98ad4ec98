using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>Where a projection is.</summary>
public enum ProjectionState
{
    /// <summary>Processing or waiting for events.</summary>
    Running,
    /// <summary>Paused by an operator.</summary>
    Paused,
    /// <summary>Stopped by its recovery strategy; see <see cref="ProjectionStatus.LastError"/>.</summary>
    Failed,
    /// <summary>Disposed.</summary>
    Stopped,
    /// <summary>Replaying the journal from the first event after a rebuild, not yet past the event that was the
    /// journal's newest when the rebuild started; <see cref="ProjectionStatus.RebuildTarget"/> and
    /// <see cref="ProjectionStatus.Offset"/> give the progress. It becomes <see cref="Running"/> once past it.</summary>
    Rebuilding,
}
