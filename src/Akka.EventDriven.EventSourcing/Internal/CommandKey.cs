namespace Akka.EventDriven.EventSourcing.Internal;

/// <summary>
/// A command id as an aggregate remembers it: an id of 32 lowercase hex digits (the form the repository gives a command
/// without an id of its own, <c>Guid.ToString("N")</c>) is kept as its 128 bits, any other id as its string. A hot
/// aggregate remembers up to <c>idempotency.max-remembered-commands</c> ids: this keeps each one inline in the
/// dictionary instead of holding a 90-byte string, and hashes it faster.
/// </summary>
internal readonly struct CommandKey : IEquatable<CommandKey>
{
    private readonly Guid _guid;
    private readonly string? _text;

    private CommandKey(Guid guid, string? text)
    {
        _guid = guid;
        _text = text;
    }

    public static CommandKey Of(string id) =>
        id.Length == 32 && IsLowerHex(id) && Guid.TryParseExact(id, "N", out var guid) ? new(guid, null) : new(default, id);

    // Only the lowercase form: its 128 bits give back exactly the same string (ToString("N") writes lowercase), so an id
    // in capitals stays a string and is never equal to its lowercase twin.
    private static bool IsLowerHex(string id)
    {
        foreach (var c in id)
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        return true;
    }

    public bool Equals(CommandKey other) =>
        _text is null ? other._text is null && _guid.Equals(other._guid) : string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is CommandKey other && Equals(other);

    public override int GetHashCode() => _text is null ? _guid.GetHashCode() : StringComparer.Ordinal.GetHashCode(_text);

    /// <summary>The id as it was given.</summary>
    public override string ToString() => _text ?? _guid.ToString("N");
}
