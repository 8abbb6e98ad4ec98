using System.Globalization;
using System.Text.Json;

namespace Akka.EventDriven.Storage;

/// <summary>A stored dead letter.</summary>
/// <param name="Id">Its row id (increasing within the database).</param>
/// <param name="Queue">The dead-letter queue.</param>
/// <param name="MessageId">The message's id.</param>
/// <param name="SourceKind">What the message came from, as stored.</param>
/// <param name="Source">The topic or queue the message came from.</param>
/// <param name="Type">The message's type name.</param>
/// <param name="Data">The message's payload, as text.</param>
/// <param name="PublishedAt">When it was published.</param>
/// <param name="CorrelationId">Its correlation id, if any.</param>
/// <param name="Headers">Its headers (empty when none).</param>
/// <param name="Reason">Why it was dead-lettered.</param>
/// <param name="Attempts">How many deliveries were tried.</param>
/// <param name="Subscriber">The subscriber that gave up on it.</param>
/// <param name="DeadLetteredAt">When it was stored (the database's clock).</param>
public sealed record StoredDeadLetter(long Id, string Queue, string MessageId, string SourceKind, string Source, string Type,
    string Data, DateTimeOffset PublishedAt, string? CorrelationId, IReadOnlyDictionary<string, string> Headers, string Reason,
    int Attempts, string Subscriber, DateTimeOffset DeadLetteredAt);
