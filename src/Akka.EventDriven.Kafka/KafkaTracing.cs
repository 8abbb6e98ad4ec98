using System.Diagnostics;
using System.Text;
using Akka.EventDriven.Diagnostics;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// W3C trace context through Kafka, in the standard <c>traceparent</c> / <c>tracestate</c> record headers (what the
/// OpenTelemetry Kafka instrumentations of other languages read and write): <see cref="WithTraceContext{TKey,TValue}"/>
/// stamps a message with the current activity's context where it is built (a stream stage runs on no caller's
/// activity, so the stages cannot do it for you); <see cref="StartProcessing{TKey,TValue}"/> continues it on the
/// consuming side with a consumer activity of the <see cref="EventDrivenTracing.Kafka"/> source.
/// </summary>
public static class KafkaTracing
{
    /// <summary>The W3C <c>traceparent</c> header.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>The W3C <c>tracestate</c> header.</summary>
    public const string TraceStateHeader = "tracestate";

    internal static readonly ActivitySource Source = new(EventDrivenTracing.Kafka);

    /// <summary>Adds the <c>traceparent</c> (and <c>tracestate</c>) of <see cref="Activity.Current"/> to
    /// <paramref name="message"/>'s headers, unless it has a <c>traceparent</c> already or there is no current activity
    /// (then nothing is allocated). Returns <paramref name="message"/>.</summary>
    public static Message<TKey, TValue> WithTraceContext<TKey, TValue>(this Message<TKey, TValue> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var traceParent = EventDrivenTracing.CaptureCurrent(out var traceState);
        if (traceParent is null || (message.Headers is { } existing && existing.TryGetLastBytes(TraceParentHeader, out _))) return message;
        message.Headers ??= new Headers();
        message.Headers.Add(TraceParentHeader, Encoding.ASCII.GetBytes(traceParent));
        if (traceState is not null) message.Headers.Add(TraceStateHeader, Encoding.UTF8.GetBytes(traceState));
        return message;
    }

    /// <summary>The <c>traceparent</c> in <paramref name="headers"/> (the last one, as Kafka clients read headers), and its
    /// <c>tracestate</c>; null when there is none.</summary>
    public static string? TraceParent(this Headers? headers, out string? traceState)
    {
        traceState = null;
        if (headers is null || !headers.TryGetLastBytes(TraceParentHeader, out var parent) || parent is null) return null;
        if (headers.TryGetLastBytes(TraceStateHeader, out var state) && state is { Length: > 0 and <= EventDrivenTracing.MaxTraceStateLength })
            traceState = Encoding.UTF8.GetString(state);
        return parent.Length is > 0 and <= 128 ? Encoding.ASCII.GetString(parent) : null;
    }

    /// <summary>Starts a consumer activity <c>process {topic}</c> for <paramref name="record"/>, the child of the trace
    /// context in its headers (a new trace when it has none); null when nothing listens to the
    /// <see cref="EventDrivenTracing.Kafka"/> source. Dispose it when the record is processed.</summary>
    public static Activity? StartProcessing<TKey, TValue>(ConsumeResult<TKey, TValue> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Source.HasListeners()) return null;
        string? state = null;
        var parent = record.Message?.Headers.TraceParent(out state);
        var previous = Activity.Current;
        if (parent is null) Activity.Current = null; // a record without a context starts its own trace
        var activity = EventDrivenTracing.StartFrom(Source, $"process {record.Topic}", ActivityKind.Consumer, parent, state);
        if (activity is null)
        {
            Activity.Current = previous;
            return null;
        }
        activity.SetTag("messaging.system", "kafka");
        activity.SetTag("messaging.operation.type", "process");
        activity.SetTag("messaging.destination.name", record.Topic);
        activity.SetTag("messaging.destination.partition.id", record.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        activity.SetTag("messaging.kafka.offset", record.Offset.Value);
        return activity;
    }
}
