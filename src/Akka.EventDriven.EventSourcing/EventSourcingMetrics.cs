using System.Diagnostics.Metrics;

namespace Akka.EventDriven.EventSourcing;

/// <summary>The System.Diagnostics.Metrics instruments of the aggregates (meter <see cref="MeterName"/>).</summary>
public static class EventSourcingMetrics
{
    /// <summary>The meter's name: add it to your OpenTelemetry meter provider.</summary>
    public const string MeterName = "Akka.EventDriven.EventSourcing";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Resends = Meter.CreateCounter<long>("eventdriven.aggregate.command.resends", "{message}",
        "Commands and state queries sent again because no answer came within idempotency.resend-after (an entity moving between nodes).");

    private static readonly Counter<long> Repeats = Meter.CreateCounter<long>("eventdriven.aggregate.command.repeats", "{command}",
        "Commands answered with an earlier result because their command id was already stored or being stored.");

    internal static void Resent(string aggregate) => Resends.Add(1, new KeyValuePair<string, object?>("aggregate", aggregate));

    internal static void Repeated(string aggregate) => Repeats.Add(1, new KeyValuePair<string, object?>("aggregate", aggregate));
}
