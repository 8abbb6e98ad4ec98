using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>Counts the coalesced recovery reads (<c>eventdriven.aggregate.recovery.batch</c>) per store while it lives:
/// of one actor system, how many queries, and how many aggregates they served.</summary>
public sealed class RecoveryBatchListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, (long Queries, long Aggregates)> _seen = new();

    public RecoveryBatchListener(string system)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EventSourcingMetrics.MeterName && instrument.Name == "eventdriven.aggregate.recovery.batch")
                l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var store = "";
            var of = "";
            foreach (var tag in tags)
                if (tag.Key == "store") store = tag.Value as string ?? "";
                else if (tag.Key == "system") of = tag.Value as string ?? "";
            if (of != system) return;
            _seen.AddOrUpdate(store, (1, value), (_, v) => (v.Queries + 1, v.Aggregates + value));
        });
        _listener.Start();
    }

    public long Queries(string store) => _seen.TryGetValue(store, out var v) ? v.Queries : 0;

    public long Aggregates(string store) => _seen.TryGetValue(store, out var v) ? v.Aggregates : 0;

    public void Dispose() => _listener.Dispose();
}
