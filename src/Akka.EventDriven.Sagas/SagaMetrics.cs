using System.Diagnostics.Metrics;

namespace Akka.EventDriven.Sagas;

/// <summary>The System.Diagnostics.Metrics instruments of the sagas (meter <see cref="MeterName"/>):
/// <c>eventdriven.saga.started</c> and <c>eventdriven.saga.outcomes</c> (by <c>saga</c> and <c>outcome</c>:
/// completed, compensated, failed), counted on the node that journaled the event (never again on recovery).</summary>
public static class SagaMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Akka.EventDriven.Sagas";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Started = Meter.CreateCounter<long>("eventdriven.saga.started", "{saga}", "Sagas started");
    private static readonly Counter<long> Outcomes = Meter.CreateCounter<long>("eventdriven.saga.outcomes", "{saga}",
        "Sagas finished, by outcome (completed, compensated, failed)");

    internal static void Recorded(string? sagaName, ISagaEvent e)
    {
        var outcome = e switch
        {
            SagaCompleted => "completed",
            SagaCompensated => "compensated",
            SagaFailed => "failed",
            _ => null,
        };
        var saga = new KeyValuePair<string, object?>("saga", sagaName ?? (e as SagaStarted)?.SagaName ?? "unknown");
        if (e is SagaStarted) Started.Add(1, saga);
        else if (outcome is not null) Outcomes.Add(1, saga, new KeyValuePair<string, object?>("outcome", outcome));
    }
}
