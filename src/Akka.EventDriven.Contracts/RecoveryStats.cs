namespace Akka.EventDriven;

/// <summary>How an aggregate entity was last recovered: which snapshot it started from and how many events it replayed.</summary>
/// <param name="SnapshotSequenceNr">Sequence number of the snapshot recovery started from, or null when none was used.</param>
/// <param name="EventsReplayed">Number of events replayed on top of it.</param>
public sealed record RecoveryStats(long? SnapshotSequenceNr, long EventsReplayed);
