namespace Akka.EventDriven.Storage;

/// <summary>What a <see cref="JournalReader"/> reads.</summary>
/// <param name="Tag">Only rows with this tag are handed out (the offset still passes the others); null = all rows.</param>
/// <param name="IncludeTags">Read each row's tags into <see cref="JournalRow.Tags"/> (one more subquery per row).</param>
/// <param name="GapTimeout">SQLite: how long a hole in the orderings is waited for before it is taken for a rolled-back
/// write. Default 10 s. Not used on PostgreSQL (see <see cref="JournalReader"/>).</param>
public sealed record JournalReadOptions(string? Tag = null, bool IncludeTags = false, TimeSpan? GapTimeout = null)
{
    internal TimeSpan Gap => GapTimeout ?? TimeSpan.FromSeconds(10);
}
