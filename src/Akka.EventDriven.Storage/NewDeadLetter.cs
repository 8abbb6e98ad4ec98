using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>A dead letter to store. Text values may hold NUL: it is written as the JSON escape <c>\u0000</c>.</summary>
/// <param name="Queue">The dead-letter queue.</param>
/// <param name="MessageId">The message's id.</param>
/// <param name="SourceKind">What the message came from (the bus's source kind, as text).</param>
/// <param name="Source">The topic or queue the message came from.</param>
/// <param name="Type">The message's type name.</param>
/// <param name="Data">The message's payload, as text.</param>
/// <param name="PublishedAtTicks">When it was published (UTC ticks).</param>
/// <param name="CorrelationId">Its correlation id, if any.</param>
/// <param name="Headers">Its headers, if any (stored as JSON).</param>
/// <param name="Reason">Why it was dead-lettered.</param>
/// <param name="Attempts">How many deliveries were tried.</param>
/// <param name="Subscriber">The subscriber that gave up on it.</param>
public sealed record NewDeadLetter(string Queue, string MessageId, string SourceKind, string Source, string Type, string Data,
    long PublishedAtTicks, string? CorrelationId, IReadOnlyDictionary<string, string>? Headers, string Reason, int Attempts,
    string Subscriber);
