namespace Akka.EventDriven.Storage;

/// <summary>What one <see cref="JournalReader.ReadAsync"/> found.</summary>
/// <param name="Rows">The rows safe to hand out, in ordering order (tag-filtered and deleted rows left out).</param>
/// <param name="NextOffset">The offset after them: it may pass rows left out, and final holes.</param>
/// <param name="RowsRead">How many rows the query returned (a full page means more may follow).</param>
public sealed record JournalBatch(IReadOnlyList<JournalRow> Rows, long NextOffset, int RowsRead);
