namespace Akka.EventDriven.EventSourcing;

/// <summary>How aggregate persistence ids are formed.</summary>
public static class PersistenceIds
{
    /// <summary>Throws when <paramref name="aggregateName"/> is not a valid aggregate type name: 1-100 letters, digits
    /// or '_' (it becomes a sharding type name, a config key and a persistence id prefix; no '-', so that
    /// <c>{name}-{id}</c> can never be the same for two aggregate types).</summary>
    public static void ValidateAggregateName(string aggregateName)
    {
        if (string.IsNullOrWhiteSpace(aggregateName) || aggregateName.Length > 100
            || !aggregateName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ArgumentException(
                $"Aggregate name '{aggregateName}' is invalid: use 1-100 letters, digits or '_'.", nameof(aggregateName));
    }

    /// <summary>The persistence id of aggregate <paramref name="id"/> of type <paramref name="aggregateName"/>:
    /// <c>Investigation-inv-123</c>.</summary>
    public static string For(string aggregateName, string id) => $"{aggregateName}-{id}";
}
