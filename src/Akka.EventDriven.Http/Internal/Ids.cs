namespace Akka.EventDriven.Http.Internal;

/// <summary>The one rule for ids taken from requests (aggregate ids, saga ids, projection names and keys): 1 to a
/// maximum of ASCII letters, digits and <c>- _ . : @</c>. No quote, space, slash, control character or non-ASCII
/// letter gets through to a query, a path or a log line.</summary>
internal static class Ids
{
    /// <summary>The characters an id may hold besides ASCII letters and digits.</summary>
    public const string Punctuation = "-_.:@";

    /// <summary><paramref name="id"/> when it is a valid id of at most <paramref name="maxLength"/> characters;
    /// otherwise a 400 problem naming <paramref name="field"/>.</summary>
    public static string Check(string? id, string field, int maxLength)
    {
        if (string.IsNullOrEmpty(id) || id.Length > maxLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || Punctuation.Contains(c)))
            throw BadRequestException.Field(field, $"'{field}' must be 1-{maxLength} letters, digits or '-', '_', '.', ':', '@'.");
        return id;
    }
}
