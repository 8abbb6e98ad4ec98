using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;

namespace Akka.EventDriven.Storage;

/// <summary>
/// A recovery in one read, asked of Akka.EventDriven's journal (<see cref="PostgreSqlJournal"/>,
/// <see cref="SqliteJournal"/>) when the snapshot store is the one whose table it can read
/// (<see cref="IsAnswered"/>): the stream's latest snapshot and the events after it, with its highest sequence number.
/// The journal coalesces these with the other recoveries queued (one statement, or one read transaction on SQLite, for
/// up to <c>recovery-batch-size</c> of them), so a cold load costs one query's share instead of two (the snapshot
/// store's and the journal's).
/// <para>Replies, to <see cref="PersistentActor"/>, in this order: <see cref="LoadSnapshotResult"/> (its snapshot is
/// null when the stream has none), the events after the snapshot as <see cref="ReplayedMessage"/>, then
/// <see cref="RecoverySuccess"/> with the highest sequence number. A failure before the snapshot was answered is a
/// <see cref="LoadSnapshotFailed"/> and ends the replies; one after it is a <see cref="ReplayMessagesFailure"/>.</para>
/// </summary>
/// <param name="PersistenceId">The stream to recover.</param>
/// <param name="PersistentActor">Where the replies go.</param>
public sealed record ReplayFromSnapshot(string PersistenceId, IActorRef PersistentActor)
{
    /// <summary>True when the default journal of <paramref name="config"/> answers <see cref="ReplayFromSnapshot"/>
    /// for the default snapshot store: the journal is <see cref="PostgreSqlJournal"/> or <see cref="SqliteJournal"/>,
    /// and the snapshot store is <see cref="GuardedSqlSnapshotStore"/> on the same connection string with the matching
    /// table mapping, so its snapshots are in the table the journal reads. Any other pairing (Akka.Persistence.Sql's own
    /// journal, a snapshot store moved elsewhere by an override) recovers in two steps.</summary>
    public static bool IsAnswered(Config config)
    {
        var journal = config.GetString("akka.persistence.journal.plugin", "");
        var snapshots = config.GetString("akka.persistence.snapshot-store.plugin", "");
        if (journal.Length == 0 || snapshots.Length == 0) return false;
        var mapping = PluginType(config, journal) switch
        {
            { } t when t == typeof(PostgreSqlJournal) => "postgresql",
            { } t when t == typeof(SqliteJournal) => "sqlite",
            _ => null,
        };
        var database = config.GetString($"{snapshots}.connection-string", "");
        return mapping is not null && PluginType(config, snapshots) == typeof(GuardedSqlSnapshotStore)
               && database.Length > 0 && database == config.GetString($"{journal}.connection-string", "")
               && config.GetString($"{snapshots}.table-mapping", "") == mapping;
    }

    private static Type? PluginType(Config config, string plugin) =>
        config.GetString($"{plugin}.class", "") is { Length: > 0 } name ? Type.GetType(name, throwOnError: false) : null;
}
