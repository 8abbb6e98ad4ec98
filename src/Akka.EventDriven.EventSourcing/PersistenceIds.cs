namespace Akka.EventDriven.EventSourcing;

/// <summary>How aggregate persistence ids are formed.</summary>
public static class PersistenceIds
{
    /// <summary>The persistence id of aggregate <paramref name="id"/> of type <paramref name="aggregateName"/>:
    /// <c>Investigation-inv-123</c>.</summary>
    public static string For(string aggregateName, string id) => $"{aggregateName}-{id}";
}
