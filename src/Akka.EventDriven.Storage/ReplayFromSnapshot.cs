using Akka.Actor;
using Akka.Persistence;

namespace Akka.EventDriven.Storage;

/// <summary>
/// A recovery in one read, asked of a <see cref="BatchingJournal"/> whose plugin config names the snapshot store it
/// shares a database with (<c>snapshots-with</c>): the stream's latest snapshot and the events after it, with its
/// highest sequence number. The journal coalesces these with the other recoveries queued (one statement, or one read
/// transaction on SQLite, for up to <c>recovery-batch-size</c> of them), so a cold load costs one query's share
/// instead of two (the snapshot store's and the journal's).
/// <para>Replies, to <see cref="PersistentActor"/>, in this order: <see cref="LoadSnapshotResult"/> (its snapshot is
/// null when the stream has none), the events after the snapshot as <see cref="ReplayedMessage"/>, then
/// <see cref="RecoverySuccess"/> with the highest sequence number. A failure before the snapshot was answered is a
/// <see cref="LoadSnapshotFailed"/> and ends the replies; one after it is a <see cref="ReplayMessagesFailure"/>.</para>
/// </summary>
/// <param name="PersistenceId">The stream to recover.</param>
/// <param name="PersistentActor">Where the replies go.</param>
public sealed record ReplayFromSnapshot(string PersistenceId, IActorRef PersistentActor)
{
    /// <summary>The plugin-config key of a journal that answers <see cref="ReplayFromSnapshot"/>: the config path of
    /// the snapshot store whose table it reads (its recoveries are only combined when that is the snapshot store in
    /// use).</summary>
    public const string SnapshotsWithKey = "snapshots-with";
}
