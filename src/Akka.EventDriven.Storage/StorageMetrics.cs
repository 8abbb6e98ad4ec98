using System.Diagnostics.Metrics;

namespace Akka.EventDriven.Storage;

/// <summary>The System.Diagnostics.Metrics instruments of the journal and snapshot store. They are published on the
/// aggregates' meter (<c>Akka.EventDriven.EventSourcing</c>), so a meter provider that listens to the aggregates sees
/// them with no change.</summary>
internal static class StorageMetrics
{
    /// <summary>The meter's name; the same as the aggregates' meter.</summary>
    public const string MeterName = "Akka.EventDriven.EventSourcing";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<long> RecoveryBatches = Meter.CreateHistogram<long>("eventdriven.aggregate.recovery.batch",
        "{aggregate}", "Aggregates whose recovery was read by one query (journal: highest sequence number and events; " +
        "snapshot store: latest snapshot), tagged store = journal or snapshot, and system (the actor system's name).");

    /// <summary>Records that one query read the recovery of <paramref name="aggregates"/> aggregates.</summary>
    internal static void RecoveryBatch(string system, string store, int aggregates) =>
        RecoveryBatches.Record(aggregates, new KeyValuePair<string, object?>("store", store),
            new KeyValuePair<string, object?>("system", system));
}
