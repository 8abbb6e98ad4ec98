namespace Akka.EventDriven.Storage;

/// <summary>One event a projection gave up on, as <c>projection_dead_letters</c> keeps it.</summary>
/// <param name="Offset">The event's journal ordering.</param>
/// <param name="PersistenceId">Its stream.</param>
/// <param name="SequenceNr">Its sequence number in the stream.</param>
/// <param name="TypeName">The stable type name it was stored under.</param>
/// <param name="Error">Why the handler failed on it.</param>
public sealed record ProjectionDeadLetterRow(long Offset, string PersistenceId, long SequenceNr, string TypeName, string Error);
