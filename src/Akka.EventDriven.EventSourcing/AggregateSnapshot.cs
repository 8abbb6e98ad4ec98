namespace Akka.EventDriven.EventSourcing;

/// <summary>A stored snapshot: the state plus the sequence numbers of the older snapshots still kept, so that
/// retention stays exact across restarts.</summary>
/// <param name="State">The aggregate state.</param>
/// <param name="OlderSnapshots">Sequence numbers of the kept snapshots older than this one, oldest first.</param>
public sealed record AggregateSnapshot(object State, IReadOnlyList<long> OlderSnapshots) : IEventDrivenMessage
{
    /// <summary>The newest commands stored within the idempotency window when the snapshot was taken (null: none).</summary>
    public IReadOnlyList<RememberedCommand>? Commands { get; init; }
}
