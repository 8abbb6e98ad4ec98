namespace Akka.EventDriven.Storage;

/// <summary>A row of <c>bus_dead_letters</c> as a trace shows it: the stored values, the message's data still as
/// stored text.</summary>
/// <param name="Id">The dead letter's id.</param>
/// <param name="Queue">The queue it was dead-lettered from.</param>
/// <param name="MessageId">The message's id.</param>
/// <param name="Type">The message's type name.</param>
/// <param name="Data">The message as stored (JSON text, as a rule).</param>
/// <param name="PublishedAtTicks">When the message was published (UTC ticks).</param>
/// <param name="Reason">Why it was dead-lettered.</param>
public sealed record ConsoleDeadLetterRow(long Id, string Queue, string MessageId, string Type, string Data,
    long PublishedAtTicks, string Reason);
